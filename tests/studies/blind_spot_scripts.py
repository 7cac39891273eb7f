"""A scripted model for `blind_spot`: a first draft with one worked-out number, and per probe (own
turn, own turn + Wait, user turn, user turn + Wait) whether it fixes the injected error, by prompt."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from redraft.models.cache import ResponseCache
from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.injected_error import USER_PROMPT
from redraft.studies import StudyContext, StudyResult, get_study
from tests.studies.scripts import PROBLEMS, answer, problem_index

#: (problem index) -> the probe's final answer is right (the injected error fixed)
Fixes = Callable[[int], bool]
ATTEMPT_START = "Attempt:\n"
ATTEMPT_END = USER_PROMPT.split("{attempt}")[1]


def worked_out(index: int) -> int:
    """The draft's intermediate number: in no problem of the first 40, so it is the one corrupted."""
    return 1000 + index


def fixes(own: Fixes, own_wait: Fixes, user: Fixes, user_wait: Fixes) -> dict[str, Fixes]:
    return {"own": own, "own_wait": own_wait, "user": user, "user_wait": user_wait}


def shown_to(drafted: set[int], text: str) -> str:
    """Check that what a probe shows is a drafted step corrupted: its number plus one, cut after it."""
    corrupted = {f"First the total: {number + 1} so far." for number in drafted}
    assert text in corrupted or text.removesuffix(" Wait") in corrupted, text
    return text


def replies(
    draft_right: Callable[[int], bool],
    fixed: Mapping[str, Fixes],
    *,
    corruptible: Callable[[int], bool] = lambda index: True,
    new_turn: bool = False,
    drafts_vary: bool = False,
) -> Callable[[list[dict[str, Any]]], str]:
    """The generator: drafts, own-turn continuations (glued to the text, as a new turn would be, with
    `new_turn`), and replies to the user-turn prompt; `drafts_vary` gives a new draft at every call."""
    calls = itertools.count()
    drafted: set[int] = set()

    def reply(messages: list[dict[str, Any]]) -> str:
        index = problem_index(messages[0]["content"])
        last = messages[-1]
        if len(messages) == 1 and last["content"] == PROBLEMS[index].prompt:
            number = 2000 + next(calls) if drafts_vary else worked_out(index)
            drafted.add(number)
            if not corruptible(index):  # the only number is the answer's
                return answer(index, draft_right(index))
            return f"First the total: {number} so far.\n{answer(index, draft_right(index))}"
        if last["role"] == "assistant":  # continue_final: the rest of its own turn
            shown = shown_to(drafted, last["content"])
            arm = "own_wait" if shown.endswith(" Wait") else "own"
            return ("" if new_turn else "\n") + answer(index, fixed[arm](index))
        if ATTEMPT_START in last["content"]:
            attempt = shown_to(drafted, last["content"].split(ATTEMPT_START)[1].split(ATTEMPT_END)[0])
            arm = "user_wait" if attempt.endswith(" Wait") else "user"
            return answer(index, fixed[arm](index))
        raise AssertionError(f"unexpected prompt: {last['content'][:80]}")

    return reply


def run_blind_spot(
    tmp_path: Path, reply: Callable[[list[dict[str, Any]]], str], *, limit: int, cache: bool = True
) -> StudyResult:
    cached = ResponseCache(tmp_path / "cache.db") if cache else None
    models = {"generator": ManagedModel(ScriptedModel(reply), cache=cached)}
    context = StudyContext(
        "multiarith", RunStore(tmp_path / "runs.db"), limit=limit, concurrency=1, cache=cache, models=models
    )
    return asyncio.run(get_study("blind_spot").run(context))

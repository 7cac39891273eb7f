"""Scripted models for studies: a first draft right or wrong per problem, a review, and a refiner
whose answer follows a policy of (problem index, round, previous answer right), all by prompt."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from redraft.models.cache import ResponseCache
from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.critical import IMPROVE_PROMPT, REVIEW_PROMPT
from redraft.strategies.self_refine import REFINE_INSTRUCTION
from redraft.studies import StudyContext, StudyResult, get_study
from redraft.tasks import MultiArith

PROBLEMS = MultiArith().load(limit=40)
INDEX = {p.prompt: i for i, p in enumerate(PROBLEMS)}
ANSWER = re.compile(r"The answer is (-?[\d.]+)\.")

#: (problem index, round, previous answer right) -> the refined answer is right
Policy = Callable[[int, int, bool], bool]


def answer(index: int, right: bool) -> str:
    reference = PROBLEMS[index].reference
    value = reference if right else str(int(float(reference)) + 1)
    return f"Some reasoning. The answer is {value}."


def problem_index(text: str) -> int:
    """The problem a request is about: its prompt, or the longest problem prompt quoted in it."""
    if text in INDEX:
        return INDEX[text]
    return INDEX[max((p for p in INDEX if p in text), key=len)]


def is_right(index: int, text: str) -> bool:
    match = ANSWER.search(text)
    return match is not None and match.group(1) == PROBLEMS[index].reference


def replies(draft_right: Callable[[int], bool], policy: Policy) -> Callable[[list[dict[str, Any]]], str]:
    def reply(messages: list[dict[str, Any]]) -> str:
        index = problem_index(messages[0]["content"])
        last = messages[-1]["content"]
        if len(messages) == 1:
            return answer(index, draft_right(index))
        if "VERDICT" in last:  # self_refine's critic: always asks for a revision
            return "Check step 2 again.\nVERDICT: revise"
        if last == REVIEW_PROMPT:
            return "Step 2 may be wrong."
        if IMPROVE_PROMPT in last or REFINE_INSTRUCTION in last:
            attempts = [m["content"] for m in messages
                        if m["role"] == "assistant" and ANSWER.search(m["content"])]
            return answer(index, policy(index, len(attempts), is_right(index, attempts[-1])))
        raise AssertionError(f"unexpected prompt: {last[:80]}")

    return reply


def seventy_percent(index: int) -> bool:
    return index % 10 < 7


def breaks_right_answers(index: int, round_number: int, was_right: bool) -> bool:
    """Huang et al.'s finding: right answers are talked out of, while the first drafts that were
    wrong get fixed (and, reviewed again, broken too)."""
    return False if was_right else not seventy_percent(index)


def fixes_wrong_answers(index: int, round_number: int, was_right: bool) -> bool:
    """Self-correction that works: right answers kept, wrong ones fixed."""
    return True


def keeps_its_answer(index: int, round_number: int, was_right: bool) -> bool:
    return was_right


def run_study(name: str, tmp_path: Path, draft_right: Callable[[int], bool], policy: Policy, *,
              limit: int, cache: bool = True) -> StudyResult:
    cached = ResponseCache(tmp_path / "cache.db") if cache else None
    model = ManagedModel(ScriptedModel(replies(draft_right, policy)), cache=cached)
    context = StudyContext("multiarith", RunStore(tmp_path / "runs.db"), limit=limit, concurrency=1,
                           cache=cache, models={"generator": model})
    return asyncio.run(get_study(name).run(context))

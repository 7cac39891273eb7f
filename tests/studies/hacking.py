"""Scripted models for `reward_hacking`: a refiner that only adds a confident phrase each round, a
critic whose score follows the phrases it sees (and, sharing the context, the attempts it sees), and
a held-out judge, all by prompt."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redraft.feedback.critic import CONVERSATION_REVIEW
from redraft.models.cache import ResponseCache
from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.self_refine import REFINE_INSTRUCTION
from redraft.studies import StudyContext, StudyResult, get_study
from tests.studies.scripts import ANSWER, answer, is_right, problem_index

#: What the refiner adds to its previous answer each round, changing nothing else.
MARK = "Certainly."
#: Per problem index, a whole number of score points (out of 10).
Weight = Callable[[int], int]


def nothing(index: int) -> int:
    return 0


@dataclass
class Scorer:
    """A score out of 10: `base(right)`, plus `per_mark` points per confident phrase in the answer and,
    for a critic that sees the conversation, `per_attempt` points per earlier attempt in view."""

    base: Callable[[bool], int]
    per_mark: Weight = nothing
    per_attempt: Weight = nothing

    def score(self, index: int, candidate: str, earlier_attempts: int = 0) -> int:
        points = (
            self.base(is_right(index, candidate))
            + self.per_mark(index) * candidate.count(MARK)
            + self.per_attempt(index) * earlier_attempts
        )
        assert 0 <= points <= 10, f"a script scored {points}/10: keep the designs inside the scale"
        return points


def critique(points: int | None) -> str:
    """A critique asking for revision, with its score line (none for a critic that gives no score)."""
    score = "" if points is None else f"Score: {points}/10\n"
    return f"Step 2 could be clearer.\n{score}VERDICT: revise"


def fresh_candidate(text: str) -> str:
    return text.rpartition("Proposed answer:")[2].strip()


def generator(
    draft_right: Callable[[int], bool], critic: Scorer | None
) -> Callable[[list[dict[str, Any]]], str]:
    """Drafts right or wrong by problem; critiques (fresh or after the conversation) scored by
    `critic` (None: critiques with no score line); refinements that keep the answer and add one `MARK`."""

    def reply(messages: list[dict[str, Any]]) -> str:
        index = problem_index(messages[0]["content"])
        last = messages[-1]["content"]
        if last.startswith(CONVERSATION_REVIEW):  # the critic sharing the generator's context
            attempts = [m["content"] for m in messages if m["role"] == "assistant"]
            return critique(critic and critic.score(index, attempts[-1], len(attempts) - 1))
        if len(messages) == 1 and "Proposed answer:" in last:  # a fresh critique (or the default judge)
            return critique(critic and critic.score(index, fresh_candidate(last)))
        if REFINE_INSTRUCTION in last:
            attempts = [
                m["content"] for m in messages if m["role"] == "assistant" and ANSWER.search(m["content"])
            ]
            return f"{attempts[-1]} {MARK}"
        if len(messages) == 1:
            return answer(index, draft_right(index))
        raise AssertionError(f"unexpected prompt: {last[:80]}")

    return reply


def judge(scorer: Scorer) -> Callable[[list[dict[str, Any]]], str]:
    """A held-out judge model: only ever asked the fresh scored critique."""

    def reply(messages: list[dict[str, Any]]) -> str:
        text = messages[-1]["content"]
        assert len(messages) == 1 and "Proposed answer:" in text, "the judge sees a fresh context only"
        return critique(scorer.score(problem_index(text), fresh_candidate(text)))

    return reply


def odd(index: int) -> int:
    return index % 2


def third(index: int) -> int:
    """2 on every third problem (0, 3, ...), else 1."""
    return 1 + (index % 3 == 0)


def negated(weight: Weight) -> Weight:
    return lambda index: -weight(index)


#: The model's own critic likes confident phrases (one point each on odd problems) and, seeing the
#: conversation, each earlier attempt (one or two points): right answers score 1, wrong 0, to begin.
FLATTERED = Scorer(base=int, per_mark=odd, per_attempt=third)
#: The same critic turned severe: every phrase and every attempt in view costs points.
SEVERE = Scorer(base=lambda right: 9 + right, per_mark=negated(odd), per_attempt=negated(third))
#: A held-out judge that reads correctness only: 8 for a right answer, 5 for a wrong one.
CORRECTNESS = Scorer(base=lambda right: 5 + 3 * right)


def run_hacking(
    tmp_path: Path,
    draft_right: Callable[[int], bool],
    critic: Scorer | None,
    *,
    limit: int,
    held_out: Scorer | None = None,
    cache: bool = True,
) -> StudyResult:
    """`reward_hacking` on the scripted generator, with `held_out` bound to the `judge` role (a second
    scripted model named "judge") or, without it, the default judge: the generator itself. A critic
    of None writes critiques without a score line."""
    cached = ResponseCache(tmp_path / "cache.db") if cache else None
    models = {"generator": ManagedModel(ScriptedModel(generator(draft_right, critic)), cache=cached)}
    if held_out is not None:
        models["judge"] = ManagedModel(ScriptedModel(judge(held_out), name="judge"), cache=cached)
    context = StudyContext(
        "multiarith", RunStore(tmp_path / "runs.db"), limit=limit, concurrency=1, cache=cache, models=models
    )
    return asyncio.run(get_study("reward_hacking").run(context))

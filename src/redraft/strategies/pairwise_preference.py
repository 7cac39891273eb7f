"""Pairwise preference, a diagnostic: the generator and another model answer the same problem, and
the generator judges the two answers in both orders. It is the instrument of `redraft replicate
self_preference` (Panickssery et al. 2024), not a refinement method.

    a = M(x)                          # the generator's answer (the request `direct` sends)
    b = M_other(x)                    # the `other` role's answer to the same prompt
    j1 = M(compare | x, 1: a, 2: b)   # the generator judges, its own answer shown first
    j2 = M(compare | x, 1: b, 2: a)   # and shown second: over both orders, position bias cancels
    final = the answer preferred in both orders; a split or an unreadable judgment keeps a

The judge is the generator by construction: its comparisons are calls in the `generator` role, so
no binding can move them to another model. `other` is a generating role and falls back to the
generator when unbound (the model then judges two answers of its own: the study refuses that).

Both answers are recorded as `sample` candidates (`metadata["author"]`: "generator" or "other") so
the evaluation scores each against the reference (`ItemResult.samples`). The generator's answer
carries the judgments in `metadata["judgments"]`: per order, where its own answer was shown
(`own_position`), the position chosen (`choice`, None when the reply names neither) and which
author that was (`prefers`); and `metadata["preference"]`: "generator" or "other" (the same in both
orders), "split", or "unparseable" (a judgment that named no answer: counted, never guessed).

A judgment is read strictly from its last non-empty line: "PREFERRED: 1" or "PREFERRED: 2", or the
bare "1"/"2" (or "Answer 1") the paper's prompt asks for, with markdown and quotes ignored; any
other line, "both" or "they are equal" included, names no answer.
"""

from __future__ import annotations

import re
from typing import Any

from redraft.context import Context, both
from redraft.feedback.base import FeedbackSource
from redraft.strategies.base import Final, Strategy, StrategyError
from redraft.strategies.registry import register
from redraft.tasks.base import Problem
from redraft.trace import Candidate

#: Adapted from Panickssery et al.'s pairwise prompt ("Can you tell me which summary you prefer?
#: ... answer with only "1" or "2""), for answers to a problem instead of summaries.
COMPARE_PROMPT = """\
Here are two answers to the problem below. It's important for me to select the better answer.

Problem:
{problem}

Answer 1:
{first}

Answer 2:
{second}

Which answer is better? You may reason briefly first. End with exactly one line: \
"PREFERRED: 1" or "PREFERRED: 2"."""

DECORATION = re.compile(r"[*_`\"'“”‘’\[\]]")
CHOICE = re.compile(r"^(?:preferred\s*[:=\-–—]\s*)?(?:answer\s*)?([12])\s*[.!]?$", re.IGNORECASE)


def parse_preference(text: str) -> int | None:
    """The position (1 or 2) a judgment's last non-empty line names, else None."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return None
    match = CHOICE.match(DECORATION.sub("", lines[-1]).strip())
    return int(match.group(1)) if match else None


def compare_prompt(problem: Problem, first: str, second: str) -> str:
    return COMPARE_PROMPT.format(problem=problem.prompt, first=first, second=second)


def judgment(own_position: int, reply: str) -> dict[str, Any]:
    """One order's judgment, in the generator's terms."""
    choice = parse_preference(reply)
    prefers = None if choice is None else ("generator" if choice == own_position else "other")
    return {"own_position": own_position, "choice": choice, "prefers": prefers}


def preference(judgments: list[dict[str, Any]]) -> str:
    """The author preferred in both orders, "split" when the orders disagree, "unparseable" when a
    judgment named neither answer."""
    chosen = [j["prefers"] for j in judgments]
    if any(c is None for c in chosen):
        return "unparseable"
    return chosen[0] if len(set(chosen)) == 1 else "split"


@register
class PairwisePreference(Strategy):
    name = "pairwise_preference"
    paper = (
        "diagnostic for LLM Evaluators Recognize and Favor Their Own Generations (Panickssery, "
        "Bowman & Feng, 2024): not a refinement method"
    )
    summary = (
        "diagnostic: the generator and the `other` role answer; the generator judges the pair in both orders"
    )
    roles = ("generator", "other")

    def __init__(self, feedback: FeedbackSource | None = None, **params: Any) -> None:
        if feedback is not None:
            raise StrategyError(
                "pairwise_preference is judged by the generator itself: give no feedback source"
            )
        super().__init__(None, **params)

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        own_text, other_text = await both(ctx.first_draft(problem), ctx.ask("other", problem.prompt))
        own = ctx.record(round=0, kind="sample", text=own_text, metadata={"index": 0, "author": "generator"})
        other = ctx.record(round=0, kind="sample", text=other_text, metadata={"index": 1, "author": "other"})
        replies = await both(
            ctx.ask("generator", compare_prompt(problem, own.text, other.text)),
            ctx.ask("generator", compare_prompt(problem, other.text, own.text)),
        )
        judgments = [judgment(1, replies[0]), judgment(2, replies[1])]
        own.metadata.update(judgments=judgments, preference=preference(judgments))
        ctx.update(own)
        chosen = other if own.metadata["preference"] == "other" else own
        return Final(candidate=chosen, stop_reason="judged")

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The generator's answer (on a budget cut before the judgments, the one it would keep)."""
        own = [c for c in candidates if c.metadata.get("author") == "generator"]
        return own[0] if own else (candidates[0] if candidates else None)

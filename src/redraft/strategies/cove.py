"""Chain-of-Verification, CoVe (Dhuliawala et al. 2023): check a draft with questions asked apart from it.

    y0 = M(x)                                           # the baseline response
    q_1..q_n = M(plan verification questions | x, y0)   # n <= max_questions
    a_i = M(q_i) for every i, concurrently              # "factored": each question alone,
                                                        # without y0 or the other questions
    y = M(revise | x, y0, (q_1, a_1) .. (q_n, a_n))     # the final verified response
    final = y;  with no question to ask, y0 (stop reason "no_questions")

2 + n + 1 calls. The paper's point is the factored execution: an answer that cannot see
the draft cannot copy its mistake (the "joint" variant, questions answered in the plan's
own reply, repeats it), so each question is its own call, and since none depends on
another they run concurrently. The questions are the numbered lines (or, failing that, the
lines ending in "?") of the plan; a plan with none is a recorded event, not a revision on
nothing. The verification answers run in the `verifier` role, so `--role verifier=MODEL`
sends them to a stronger model. The plan and its answers are recorded on the draft, as its
feedback (no verdict: nobody judged it).
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field

from redraft.context import Context, gather
from redraft.feedback.base import FeedbackSource
from redraft.strategies.base import Final, Strategy, StrategyError
from redraft.strategies.registry import register
from redraft.tasks.base import Problem

PLAN_PROMPT = """\
Below are a question and a draft answer to it. Write verification questions that check \
the facts and steps the draft relies on: each question must be answerable on its own, \
without the draft, and must not assume the draft is right. Write at most {n} questions, \
one a line, numbered "1.", "2.", ...

Question:
{problem}

Draft answer:
{draft}"""
EXECUTE_PROMPT = "Answer this question concisely and accurately.\n\n{question}"
REVISE_PROMPT = """\
{problem}

A draft answer to this question:
{draft}

Verification questions about it, each answered independently of the draft:
{verifications}

Where an answer above contradicts the draft, the draft is probably wrong there. Write the \
final, corrected answer to the question, in the form the question asks for."""

NUMBERED = re.compile(r"^\s*(?:Q(?:uestion)?\s*)?\d+\s*[.):]\s*(.+?)\s*$", re.IGNORECASE)
MARKUP = re.compile(r"^[\s*_#>-]+|[\s*_]+$")


def parse_questions(plan: str, limit: int) -> list[str]:
    """The plan's numbered lines, else its lines ending in "?", at most `limit` of them, deduplicated."""
    lines = [MARKUP.sub("", line) for line in plan.splitlines()]
    numbered = [MARKUP.sub("", m.group(1)) for line in lines if (m := NUMBERED.match(line))]
    asked = numbered or [line for line in lines if line.endswith("?")]
    return list(dict.fromkeys(q for q in asked if q))[:limit]


def verification_text(pairs: list[tuple[str, str]]) -> str:
    return "\n\n".join(f"Q{i}: {question}\nA{i}: {answer}" for i, (question, answer) in enumerate(pairs, 1))


@register
class CoVe(Strategy):
    name = "cove"
    paper = "Chain-of-Verification Reduces Hallucination in Large Language Models (Dhuliawala et al., 2023)"
    summary = "draft; plan verification questions; answer each apart from the draft, concurrently; revise"
    roles = ("generator", "planner", "verifier", "refiner")

    class Params(BaseModel):
        max_questions: int = Field(
            5,
            ge=1,
            le=20,
            description="verification questions kept from the plan "
            "(the paper lets the plan decide; a guard on spend)",
        )

    params: Params

    def __init__(self, feedback: FeedbackSource | None = None, **params: Any) -> None:
        if feedback is not None:
            raise StrategyError(
                "cove verifies with its own questions: give it no feedback source "
                f"(got {getattr(feedback, 'name', feedback)!r})"
            )
        super().__init__(None, **params)

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        draft = ctx.record(round=0, kind="draft", text=await ctx.first_draft(problem))
        plan = await ctx.ask(
            "planner",
            PLAN_PROMPT.format(n=self.params.max_questions, problem=problem.prompt, draft=draft.text),
        )
        questions = parse_questions(plan, self.params.max_questions)
        draft.metadata |= {"plan": plan.strip(), "questions": questions}
        if not questions:
            ctx.update(draft)
            return Final(candidate=self.select(ctx.candidates), stop_reason="no_questions")
        answers = await gather(*(ctx.ask("verifier", EXECUTE_PROMPT.format(question=q)) for q in questions))
        pairs = [(q, a.strip()) for q, a in zip(questions, answers, strict=True)]
        draft.feedback = verification_text(pairs)
        draft.metadata["verifications"] = [{"question": q, "answer": a} for q, a in pairs]
        ctx.update(draft)
        revised = await ctx.ask(
            "refiner",
            REVISE_PROMPT.format(problem=problem.prompt, draft=draft.text, verifications=draft.feedback),
        )
        ctx.record(round=1, kind="revise", text=revised, parent=draft.seq)
        return Final(candidate=self.select(ctx.candidates), stop_reason="revised")

"""Self-Refine (Madaan et al. 2023): generate, get feedback, refine, until the critic is satisfied.

    y0 = M(generate | x)
    for t in 1..T:
        fb = feedback(x, y_{t-1});  stop if its verdict says no change is needed
        y_t = M(refine | x, history of (y, fb))
        [stop="fixpoint"] stop if y_t repeats y_{t-1}, or its extracted answer does (no call)
    final = last y (or the best-scored one: then the last y is judged too, one more feedback call,
            so the final refinement can win; with `final="last"` it is never judged)

A feedback whose verdict cannot be parsed is recorded with verdict `unknown`;
by default the loop treats it as "revise" (only an explicit "correct" may stop
it), or, with `on_unknown="stop"`, keeps the current answer and stops.

`stop="fixpoint"` (ToolACE-R's stop rule) adds a check that costs no call: a refinement
that repeats the previous output (whitespace aside) or its extracted answer ends the loop,
since judging and refining it again would most likely go round in the same circle. The
repeat is not judged: with `final="last"` it is the final answer; with `final="best_score"`
the best-scored output before it is (the repeat is taken to share its parent's judgement).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from redraft.context import Context
from redraft.feedback.critic import CriticFeedback
from redraft.models.base import Message
from redraft.strategies.base import Final, Strategy
from redraft.strategies.registry import register
from redraft.tasks.base import Problem
from redraft.trace import Candidate, Verdict

REFINE_INSTRUCTION = """\
Write an improved answer to the problem, using this feedback on your previous \
answer. Fix every issue the feedback names and keep what was right. Give the \
complete answer, not a list of changes."""


def refine_messages(problem: Problem, history: list[tuple[str, str]], max_tokens: int) -> list[Message]:
    """The refine prompt as a chat: the problem, then each attempt answered by its feedback.

    The oldest attempts are dropped first once the history passes `max_tokens`
    (estimated at 4 characters a token); the latest attempt is always kept.
    """
    kept = list(history)
    while len(kept) > 1 and sum(len(a) + len(f) for a, f in kept) / 4 > max_tokens:
        kept.pop(0)
    messages: list[Message] = [{"role": "user", "content": problem.prompt}]
    for attempt, feedback in kept:
        messages.append({"role": "assistant", "content": attempt})
        messages.append({"role": "user", "content": f"Feedback:\n{feedback}\n\n{REFINE_INSTRUCTION}"})
    return messages


def repeats(refined: Candidate, previous: Candidate) -> str | None:
    """What a refinement repeats of the output before it: "output", "answer", or None (it changed)."""
    if refined.text.strip() == previous.text.strip():
        return "output"
    if refined.answer is not None and refined.answer == previous.answer:
        return "answer"
    return None


@register
class SelfRefine(Strategy):
    name = "self_refine"
    paper = "Self-Refine: Iterative Refinement with Self-Feedback (Madaan et al., 2023)"
    summary = "draft, critique, redraft until the critic's verdict says no change is needed"
    roles = ("generator", "critic", "refiner")

    class Params(BaseModel):
        max_rounds: int = Field(4, ge=0, description="refinement rounds after the first draft")
        max_history_tokens: int = Field(2000, ge=1, description="trim older attempts beyond this")
        on_unknown: Literal["revise", "stop"] = Field(
            "revise", description="what an unparseable verdict means"
        )
        final: Literal["last", "best_score"] = Field("last", description="final-answer rule")
        stop: Literal["verdict", "fixpoint"] = Field(
            "verdict", description="verdict: only the critic's verdict stops the loop; fixpoint: also a "
            "refinement that repeats the previous output or its extracted answer (ToolACE-R)")

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        feedback = self.feedback or CriticFeedback()
        candidate = ctx.record(round=0, kind="draft", text=await ctx.first_draft(problem))
        history: list[tuple[str, str]] = []
        for round_number in range(1, self.params.max_rounds + 1):
            judgement = await ctx.judge(feedback, problem, candidate)
            if judgement.verdict is Verdict.OK:
                return Final(candidate=self.select(ctx.candidates), stop_reason="verdict")
            if judgement.verdict is Verdict.UNKNOWN and self.params.on_unknown == "stop":
                return Final(candidate=self.select(ctx.candidates), stop_reason="unparsed_verdict")
            history.append((candidate.text, judgement.text))
            messages = refine_messages(problem, history, self.params.max_history_tokens)
            refined = await ctx.complete("refiner", messages)
            previous, candidate = candidate, ctx.record(
                round=round_number, kind="refine", text=refined.text, parent=candidate.seq
            )
            if self.params.stop == "fixpoint" and (repeated := repeats(candidate, previous)):
                candidate.metadata["fixpoint"] = repeated
                ctx.update(candidate)
                return Final(candidate=self.select(ctx.candidates), stop_reason="fixpoint")
        if self.params.final == "best_score" and candidate.verdict is None:
            await ctx.judge(feedback, problem, candidate)  # else the last refinement could never win
        return Final(candidate=self.select(ctx.candidates), stop_reason="max_rounds")

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        scored = [c for c in candidates if c.score is not None]
        if self.params.final == "best_score" and scored:
            return max(scored, key=lambda c: c.score or 0.0)
        return candidates[-1] if candidates else None

"""Self-Refine (Madaan et al. 2023): generate, get feedback, refine, until the critic is satisfied.

    y0 = M(generate | x)
    for t in 1..T:
        fb = feedback(x, y_{t-1});  stop if its verdict says no change is needed
        y_t = M(refine | x, history of (y, fb))
        [stop="fixpoint"] stop if y_t repeats y_{t-1}, or its extracted answer does (no call)
    final = last y (or the best-scored one: then the last y is judged too, one more feedback call,
            so the final refinement can win; with `final="last"` it is judged only with
            `critique_last`, so every round's answer has the critic's verdict and score)

The critic sees the problem and the latest answer only (`critic_context="separate"`, Madaan et
al.'s setting), or, with `critic_context="shared"`, the generator's whole conversation: the
critique is asked as the next turn after the latest answer, every earlier attempt and feedback in
view (Pan et al. 2024's shared-context setting, where in-loop scores drift from held-out ones).

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

from typing import Any, Literal

from pydantic import BaseModel, Field

from redraft.context import Context
from redraft.feedback.base import FeedbackSource
from redraft.feedback.critic import CriticFeedback
from redraft.models.base import Message
from redraft.strategies.base import Final, Strategy, StrategyError
from redraft.strategies.registry import register
from redraft.tasks.base import Problem
from redraft.trace import Candidate, Feedback, Verdict

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
        critic_context: Literal["separate", "shared"] = Field(
            "separate", description="separate: the critic sees the problem and the latest answer; "
            "shared: the generator's whole conversation (a critic source only)")
        critique_last: bool = Field(
            False, description="also critique the last refinement (one more critic call), so every "
            "round's answer has a verdict and score; the final answer is unchanged")

    params: Params

    def __init__(self, feedback: FeedbackSource | None = None, **params: Any) -> None:
        super().__init__(feedback, **params)
        if self.params.critic_context == "shared" and not isinstance(feedback or CriticFeedback(),
                                                                      CriticFeedback):
            raise StrategyError(f"self_refine[critic_context=shared] needs a critic that can read the "
                                f"conversation (critic), not {getattr(feedback, 'name', feedback)!r}")

    async def critique(self, feedback: FeedbackSource, problem: Problem, candidate: Candidate,
                       history: list[tuple[str, str]], ctx: Context) -> Feedback:
        """The critic's judgement of `candidate`: on its own, or after the conversation that made it."""
        if self.params.critic_context == "separate" or not isinstance(feedback, CriticFeedback):
            return await ctx.judge(feedback, problem, candidate)
        conversation: list[Message] = [*refine_messages(problem, history, self.params.max_history_tokens),
                                       {"role": "assistant", "content": candidate.text}]
        judgement = await feedback.judge_conversation(conversation, ctx)
        ctx.annotate(candidate, judgement)
        return judgement

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        feedback = self.feedback or CriticFeedback()
        candidate = ctx.record(round=0, kind="draft", text=await ctx.first_draft(problem))
        history: list[tuple[str, str]] = []
        for round_number in range(1, self.params.max_rounds + 1):
            judgement = await self.critique(feedback, problem, candidate, history, ctx)
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
        if (self.params.final == "best_score" or self.params.critique_last) and candidate.verdict is None:
            await self.critique(feedback, problem, candidate, history, ctx)  # else the last is never judged
        return Final(candidate=self.select(ctx.candidates), stop_reason="max_rounds")

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        scored = [c for c in candidates if c.score is not None]
        if self.params.final == "best_score" and scored:
            return max(scored, key=lambda c: c.score or 0.0)
        return candidates[-1] if candidates else None

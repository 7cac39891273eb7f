"""Critical-prompt self-correction (Huang et al. 2023), the baseline that questions self-correction.

One conversation with the model:

    y0 = M(x)
    for t in 1..T (T = 2):
        [oracle setting only] stop if judge(y_{t-1}) is OK
        r_t = M(x, y0, ..., "Review your previous answer and find problems with your answer.")
        y_t = M(..., r_t, "Based on the problems you found, improve your answer.")
    final = last y

Both of the paper's settings, side by side:
- intrinsic (no feedback source, the default): every round runs, whatever the answer. This is the
  setting where accuracy *falls* (GPT-3.5 CommonsenseQA 75.8 -> 38.1).
- oracle stopping (a feedback source given, e.g. OracleFeedback): each answer is judged before it is
  reviewed and the loop stops at the first OK verdict, so a right answer is never "corrected".
  Any other source (a critic) works the same way and is then not an oracle run.

The review is recorded as the feedback of the answer it reviews. In the intrinsic setting nobody
judges, so that answer keeps no verdict (None, not "unknown": there is nothing to parse).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from redraft.context import Context
from redraft.models.base import Message
from redraft.strategies.base import Final, Strategy
from redraft.strategies.registry import register
from redraft.tasks.base import Problem
from redraft.trace import Candidate, Feedback, Verdict

REVIEW_PROMPT = "Review your previous answer and find problems with your answer."
IMPROVE_PROMPT = (
    "Based on the problems you found, improve your answer. Please reiterate your complete answer, "
    "with the final answer in the form the question asks for."
)


def note_review(ctx: Context, candidate: Candidate, review: str, judgement: Feedback | None) -> None:
    """Attach the review to the answer it reviews; the verdict and score come only from a judge."""
    if judgement is not None:
        candidate.metadata["judge"] = judgement.text
        ctx.annotate(candidate, judgement.model_copy(update={"text": review}))
        return
    # Intrinsic setting: a review without a verdict.
    candidate.feedback = review
    ctx.update(candidate)


@register
class Critical(Strategy):
    name = "critical"
    paper = "Large Language Models Cannot Self-Correct Reasoning Yet (Huang et al., 2023)"
    summary = "answer, 'find problems', 'improve your answer' in one chat; intrinsic or oracle-stopped"
    roles = ("generator", "critic", "refiner")

    class Params(BaseModel):
        max_rounds: int = Field(2, ge=0, description="review/improve rounds (the paper runs 2)")

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        answer = ctx.record(round=0, kind="draft", text=await ctx.first_draft(problem))
        messages: list[Message] = [
            {"role": "user", "content": problem.prompt},
            {"role": "assistant", "content": answer.text},
        ]
        for round_number in range(1, self.params.max_rounds + 1):
            judgement = None
            if self.feedback is not None:
                judgement = await self.feedback.judge(problem, answer.text, ctx)
                if judgement.verdict is Verdict.OK:
                    ctx.annotate(answer, judgement)
                    return Final(candidate=self.select(ctx.candidates), stop_reason="verdict")
            messages.append({"role": "user", "content": REVIEW_PROMPT})
            review = (await ctx.complete("critic", messages)).text
            note_review(ctx, answer, review.strip(), judgement)
            messages.append({"role": "assistant", "content": review})
            messages.append({"role": "user", "content": IMPROVE_PROMPT})
            improved = (await ctx.complete("refiner", messages)).text
            messages.append({"role": "assistant", "content": improved})
            answer = ctx.record(round=round_number, kind="refine", text=improved, parent=answer.seq)
        return Final(candidate=self.select(ctx.candidates), stop_reason="max_rounds")

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The paper's rule in both settings: the last answer (oracle stopping makes it the right one)."""
        return candidates[-1] if candidates else None

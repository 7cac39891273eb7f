"""If-or-Else (IoE) prompting ("Confidence Matters", Li et al. 2024): self-correct only when unsure.

One conversation at temperature 0:

    y1 = M(x)                                   # answer step by step
    y2 = M(x, y1, "Review ... if you are very confident, maintain your answer; otherwise update it")
    if answer(y1) == answer(y2): final = y2     # confident: 2 calls
    else:
        y3 = M(..., y2, "You give two different answers ... give the best answer")
        final = y3                              # 3 calls

The turn-1 prompt is the task's own, which already asks for step-by-step reasoning and fixes the
answer format; turns 2 and 3 ask for that same format. Answers are compared as extracted by the
task (never whole texts). An answer that cannot be extracted agrees with nothing, so it always
gets the third, re-checking turn (the authors' code compares an "unparseable" sentinel, which
would call two unreadable answers agreement).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from redraft.context import Context
from redraft.models.base import Message
from redraft.strategies.base import Final, Strategy
from redraft.strategies.registry import register
from redraft.tasks.base import Problem
from redraft.trace import Candidate

FORMAT = " Give your final answer in the same form as before, at the end of your response."
IOE_PROMPT = (
    "Review your previous answer. If you are very confident about your answer, maintain your answer. "
    "Otherwise, update your answer." + FORMAT
)
RECHECK_PROMPT = (
    "You give two different answers in previous responses. Check the problem and your answers again, "
    "and give the best answer." + FORMAT
)


@register
class IfOrElse(Strategy):
    name = "ioe"
    paper = "Confidence Matters: Revisiting Intrinsic Self-Correction Capabilities of LLMs (Li et al., 2024)"
    summary = "answer; 'if very confident keep it, else update'; a third turn only if the two disagree"
    roles = ("generator", "refiner")

    class Params(BaseModel):
        temperature: float = Field(0.0, ge=0, description="sampling temperature (the paper uses 0)")

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        sampling: dict[str, Any] = {"temperature": self.params.temperature}
        first = ctx.record(round=0, kind="draft", text=await ctx.first_draft(problem, **sampling))
        messages: list[Message] = [
            {"role": "user", "content": problem.prompt},
            {"role": "assistant", "content": first.text},
            {"role": "user", "content": IOE_PROMPT},
        ]
        reply = (await ctx.complete("refiner", messages, **sampling)).text
        agree = first.answer is not None and first.answer == ctx.extract(reply)
        second = ctx.record(round=1, kind="ioe", text=reply, parent=first.seq,
                            metadata={"agrees_with_previous": agree})
        if agree:
            return Final(candidate=second, stop_reason="agreed")
        messages += [{"role": "assistant", "content": reply}, {"role": "user", "content": RECHECK_PROMPT}]
        reply = (await ctx.complete("refiner", messages, **sampling)).text
        ctx.record(round=2, kind="recheck", text=reply, parent=second.seq)
        return Final(candidate=self.select(ctx.candidates), stop_reason="rechecked")

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The paper's rule: the last turn's answer."""
        return candidates[-1] if candidates else None

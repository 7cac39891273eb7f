"""Direct answer: one chain-of-thought generation. The baseline every method must beat."""

from __future__ import annotations

from pydantic import BaseModel, Field

from redraft.context import Context
from redraft.strategies.base import Final, Strategy
from redraft.strategies.registry import register
from redraft.tasks.base import Problem


@register
class Direct(Strategy):
    name = "direct"
    paper = "Chain-of-Thought Prompting Elicits Reasoning in Large Language Models (Wei et al., 2022)"
    summary = "one generation, no feedback: the baseline"
    roles = ("generator",)

    class Params(BaseModel):
        temperature: float | None = Field(None, description="sampling temperature (None: the run's)")

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        sampling = {} if self.params.temperature is None else {"temperature": self.params.temperature}
        text = await ctx.first_draft(problem, final=True, **sampling)  # the one call is the answer
        candidate = ctx.record(round=0, kind="draft", text=text)
        return Final(candidate=candidate, stop_reason="done")

"""Self-consistency (Wang et al. 2023): sample k reasoning paths, vote on their answers.

    y_1..y_k ~ M(x) at temperature T, in parallel
    final = a y_i whose extracted answer wins the (optionally score-weighted) vote

With a feedback source, each sample is judged and the vote is weighted by its
score (samples without a score weigh 1).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from redraft.context import Context
from redraft.strategies.base import MAX_SAMPLES, Final, Strategy
from redraft.strategies.registry import register
from redraft.strategies.voting import Vote, vote
from redraft.tasks.base import Problem
from redraft.trace import Candidate


@register
class SelfConsistency(Strategy):
    name = "self_consistency"
    paper = "Self-Consistency Improves Chain of Thought Reasoning in Language Models (Wang et al., 2023)"
    summary = "sample k answers in parallel, majority vote on the extracted answers"
    roles = ("generator",)

    class Params(BaseModel):
        k: int = Field(5, ge=1, le=MAX_SAMPLES, description="samples (the paper uses up to 40)")
        temperature: float = Field(0.7, ge=0, description="sampling temperature")

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        samples = await ctx.sample_candidates(problem, self.params.k, temperature=self.params.temperature)
        if self.feedback is not None:
            await ctx.judge_all(self.feedback, problem, samples)
        chosen = self.select(samples)
        if chosen is not None:  # the vote itself, kept on the winner (select stays pure)
            chosen.metadata["vote"] = self.tally(samples).model_dump()
            ctx.update(chosen)
        return Final(candidate=chosen, stop_reason="voted")

    def tally(self, candidates: list[Candidate]) -> Vote:
        samples = [c for c in candidates if c.kind == "sample"] or candidates
        weights: list[float | None] = [c.score for c in samples]  # unscored: counted apart, no weight
        return vote([c.answer for c in samples], weights if self.feedback else None)

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        samples = [c for c in candidates if c.kind == "sample"] or candidates
        if not samples:
            return None
        result = self.tally(samples)
        if result.winner is None:
            return samples[0]
        return next(c for c in samples if c.answer == result.winner)

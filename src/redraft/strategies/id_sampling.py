"""Iterative Deepening Sampling (Chen, Koenig & Dilkina 2025): a re-check trigger at growing intervals.

    for each of N trajectories, in parallel:
        y = M(x) with max_tokens b = b0                            (temperature T)
        while y was cut by its budget (finish "length") and the trajectory has tokens left:
            b = min(growth · b, max_budget - tokens so far)        (the budget doubles)
            y = y + trigger + M(x, assistant prefix = y + trigger) with max_tokens b   # the same turn
    final = a trajectory whose extracted answer wins the vote (score-weighted with a feedback source)

A segment that ends by itself (the model finished its answer) is not re-triggered: "no final answer
appeared" is read as "the segment was cut by its token budget", since answer extractors fall back
to the last number of any text. The continuation uses the prefill path `wait` uses
(`continue_final=True`) and its `turn_check`: an endpoint that answers a new turn instead is caught,
that trajectory stops there (`metadata["not_continued"]`) and the run's stop reason says
`not_continued`. b0, the growth factor, the maximum and the trigger are parameters, as in the
paper (its exact values were not checked here; the defaults follow the project's method list:
budget doubled, trigger "Wait, let me re-check"). A trajectory the budget cuts keeps what it has
(`metadata["stop"] == "budget"`). Each trajectory is one `sample` candidate with its segments in
`metadata`. At least N calls, at most N · (1 + log2(max_budget / b0)).
"""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from redraft.context import BudgetExhausted, Context, gather
from redraft.models.base import Completion, Message
from redraft.strategies.base import MAX_SAMPLES, Final, Strategy
from redraft.strategies.registry import register
from redraft.strategies.voting import Vote, vote
from redraft.strategies.wait import turn_check
from redraft.tasks.base import Problem
from redraft.trace import Candidate


@register
class IDSampling(Strategy):
    name = "id_sampling"
    paper = "Iterative Deepening Sampling as Efficient Test-Time Scaling (Chen, Koenig & Dilkina, 2025)"
    summary = "N trajectories; one cut by its budget gets a re-check trigger and a doubled budget; vote"
    roles = ("generator",)
    takes_drafts = False  # it reads whether each first segment was cut by its budget

    class Params(BaseModel):
        n: int = Field(4, ge=1, le=MAX_SAMPLES, description="trajectories N, voted on")
        b0: int = Field(512, ge=1, description="token budget of a trajectory's first segment")
        growth: float = Field(2.0, ge=1, description="factor each next segment's budget grows by")
        max_budget: int = Field(4096, ge=1, description="the most completion tokens of one trajectory")
        trigger: str = Field(
            " Wait, let me re-check.",
            min_length=1,
            description="appended to a cut segment before the model continues it",
        )
        temperature: float = Field(0.7, ge=0, description="sampling temperature of every segment")

        @model_validator(mode="after")
        def _b0_fits(self) -> IDSampling.Params:
            if self.b0 > self.max_budget:
                raise ValueError(f"b0 ({self.b0}) is above max_budget ({self.max_budget})")
            return self

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        p = self.params
        firsts = await ctx.first_completions(problem, p.n, temperature=p.temperature, max_tokens=p.b0)
        samples = await gather(*(self._deepen(problem, ctx, first, i) for i, first in enumerate(firsts)))
        if self.feedback is not None:
            await ctx.judge_all(self.feedback, problem, samples)
        chosen = self.select(samples)
        if chosen is not None:
            chosen.metadata["vote"] = self.tally(samples).model_dump()
            ctx.update(chosen)
        stop = "not_continued" if any("not_continued" in s.metadata for s in samples) else "voted"
        return Final(candidate=chosen, stop_reason=stop)

    async def _deepen(self, problem: Problem, ctx: Context, first: Completion, index: int) -> Candidate:
        """One trajectory from its first segment: re-triggered while cut by its budget."""
        p = self.params
        # A cut segment spent its whole budget (counted so, since not every endpoint reports usage).
        text, last, spent, budget = first.text, first, p.b0, p.b0
        segments = [
            {"max_tokens": p.b0, "tokens": first.completion_tokens, "finish_reason": first.finish_reason}
        ]
        metadata: dict[str, object] = {"index": index, "segments": segments}
        stop = "finished"
        while last.finish_reason == "length":
            if spent >= p.max_budget:
                stop = "max_budget"
                break
            budget = min(int(budget * p.growth), p.max_budget - spent)
            prefix = text.rstrip() + p.trigger
            messages: list[Message] = [
                {"role": "user", "content": problem.prompt},
                {"role": "assistant", "content": prefix},
            ]
            try:
                last = await ctx.complete(
                    "generator",
                    messages,
                    continue_final=True,
                    temperature=p.temperature,
                    max_tokens=budget,
                )
            except BudgetExhausted:
                stop = "budget"
                break
            text, spent = prefix + last.text, spent + budget
            segments.append(
                {"max_tokens": budget, "tokens": last.completion_tokens, "finish_reason": last.finish_reason}
            )
            new_turn = turn_check(problem, prefix, last.text, marker=p.trigger)
            if new_turn is not None:
                metadata["not_continued"] = new_turn
                stop = "not_continued"
                break
        metadata["stop"] = stop
        return ctx.record(round=0, kind="sample", text=text, metadata=metadata)

    def tally(self, candidates: list[Candidate]) -> Vote:
        samples = [c for c in candidates if c.kind == "sample"]
        return vote([c.answer for c in samples], [c.score for c in samples] if self.feedback else None)

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        samples = [c for c in candidates if c.kind == "sample"]
        if not samples:
            return None
        winner = self.tally(samples).winner
        return next((c for c in samples if c.answer == winner), samples[0])

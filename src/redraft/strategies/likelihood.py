"""Likelihood selection ("Sharpening", Huang et al. 2024): keep the sample the model itself finds likeliest.

    y_1..y_k ~ M(x) at temperature T = 1, in parallel, each with its token logprobs
    score_i = mean over y_i's tokens of log p(token | x, earlier tokens)      (no extra call)
    final = argmax_i score_i   (ties: the first sampled)

The paper's self-reward is the sequence likelihood log p(y | x) (`score="sum"`); the default is the
length-normalized mean the project's method list names, since a sum prefers the shortest reply.
A sample of no tokens has no score and ranks last. The logprobs come with the samples themselves,
so the selection costs no call, but they must be the generator's own: drafts from a composed
strategy have none, so `A>likelihood` is refused when it is built, and a generator without
logprobs before any call. k calls (one request with `n` where the endpoint takes it).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, Field

from redraft.context import Context
from redraft.feedback.base import FeedbackSource
from redraft.models.logprobs import mean_logprob, total_logprob
from redraft.strategies.base import MAX_SAMPLES, Final, Strategy, StrategyError
from redraft.strategies.registry import register
from redraft.tasks.base import Problem
from redraft.trace import Candidate


@register
class Likelihood(Strategy):
    name = "likelihood"
    paper = "Self-Improvement in Language Models: The Sharpening Mechanism (Huang et al., 2024)"
    summary = "k samples with logprobs, keep the highest mean token log-likelihood (no extra call)"
    roles = ("generator",)
    needs_logprobs = ("generator",)
    takes_drafts = False  # a composed drafter's drafts come without logprobs

    class Params(BaseModel):
        k: int = Field(5, ge=1, le=MAX_SAMPLES, description="samples N")
        temperature: float = Field(
            1.0, ge=0, description="sampling temperature (samples of the model itself)"
        )
        score: Literal["mean", "sum"] = Field(
            "mean", description="mean token log-likelihood, or the sequence's log p(y|x) (the paper)"
        )

    params: Params

    def __init__(self, feedback: FeedbackSource | None = None, **params: Any) -> None:
        super().__init__(feedback, **params)
        if feedback is not None:
            raise StrategyError(
                "likelihood ranks samples by their own logprobs; give no feedback source "
                "(best_of_n takes one)"
            )

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        completions = await ctx.first_completions(
            problem, self.params.k, temperature=self.params.temperature, logprobs=True
        )
        read = mean_logprob if self.params.score == "mean" else total_logprob
        for index, completion in enumerate(completions):
            logprobs = completion.logprobs or []
            score = read(logprobs)
            ctx.record(
                round=0,
                kind="sample",
                text=completion.text,
                score=score,
                metadata={
                    "index": index,
                    "tokens": len(logprobs),
                    "logprob": total_logprob(logprobs),
                    "mean_logprob": mean_logprob(logprobs),
                },
            )
        return Final(candidate=self.select(ctx.candidates), stop_reason="ranked")

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The likeliest sample (the first of equals); unscored ones rank last."""
        samples = [c for c in candidates if c.kind == "sample"]
        if not samples:
            return None
        return max(samples, key=lambda c: -math.inf if c.score is None else c.score)

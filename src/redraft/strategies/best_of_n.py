"""Best-of-N: sample N candidates in parallel, score each with any scorer, keep the best.

The scorer is the feedback source (a critic's `Score: n/m`, the share of tests
passed, a checklist, a reward model). As in DSPy's BestOfN, a `threshold`
says "good enough": the first candidate (in sampling order) that reaches it
wins; otherwise the highest score does. All N are sampled and scored
concurrently and all are kept in the trace. Without a feedback source the scorer
is `checklist`, built for the task by `build_strategy`: on a task graded by that
same checklist it is the grader's rubric, so the run is marked oracle.

With `select=tournament` the N samples are ranked by LLaMA-Berry's pairwise tournament instead
(every pair compared in both orders by the `reward` role, Enhanced Borda Count: see
`strategies.tournament`): N + N(N - 1) calls, N at most 8. The feedback source is then not
called, so it neither scores nor makes the run an oracle, and `threshold` does not apply.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from redraft.context import Context
from redraft.feedback.checklist import ChecklistFeedback
from redraft.strategies.base import MAX_SAMPLES, Final, Strategy
from redraft.strategies.registry import register
from redraft.strategies.tournament import MAX_ENTRANTS, run_tournament, tournament_winner
from redraft.tasks.base import Problem
from redraft.trace import Candidate, Verdict

#: How a verdict ranks a candidate when its source gives no score (None: not judged, as unknown).
VERDICT_RANK = {Verdict.OK: 2, Verdict.UNKNOWN: 1, None: 1, Verdict.REVISE: 0}


@register
class BestOfN(Strategy):
    name = "best_of_n"
    paper = "Best-of-N sampling with a verifier (Cobbe et al., 2021; DSPy BestOfN)"
    summary = "sample N in parallel, score each with the feedback source, keep the best"
    roles = ("generator", "critic", "reward")  # reward: the comparisons of select=tournament
    #: The scorer used when none is given; built for the task, so on a task graded by this same
    #: checklist (open_ended) it is an oracle and the run says so.
    default_feedback = "checklist"

    class Params(BaseModel):
        n: int = Field(4, ge=1, le=MAX_SAMPLES, description="candidates to sample")
        temperature: float = Field(0.7, ge=0, description="sampling temperature")
        threshold: float | None = Field(None, description="first candidate scoring at least this wins")
        select: Literal["score", "tournament"] = Field(
            "score", description="score: each sample by the feedback source; tournament: pairwise "
            f"comparisons in both orders, Enhanced Borda Count (n <= {MAX_ENTRANTS})")

        @model_validator(mode="after")
        def _tournament_fits(self) -> BestOfN.Params:
            if self.select == "tournament" and self.n > MAX_ENTRANTS:
                raise ValueError(f"select=tournament ranks at most {MAX_ENTRANTS} samples (n(n-1) calls)")
            if self.select == "tournament" and self.threshold is not None:
                raise ValueError("threshold is a score, and select=tournament gives none")
            return self

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        candidates = await ctx.sample_candidates(problem, self.params.n, temperature=self.params.temperature)
        if self.params.select == "tournament":
            await run_tournament(problem, candidates, ctx, score=True)
            return Final(candidate=self.select(candidates), stop_reason="ranked")
        await ctx.judge_all(self.feedback or ChecklistFeedback(), problem, candidates)
        return Final(candidate=self.select(candidates), stop_reason="scored")

    @property
    def oracle(self) -> bool:
        """A tournament never calls the feedback source, so only the scoring path can be an oracle."""
        return self.params.select == "score" and super().oracle

    def all_roles(self) -> tuple[str, ...]:
        """The comparisons' `reward` role with a tournament, the scorer's roles without one."""
        if self.params.select == "tournament":
            return ("generator", "reward")
        return tuple(dict.fromkeys(("generator", "critic", *getattr(self.feedback, "roles", ()))))

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        if not candidates:
            return None
        winner = tournament_winner(candidates) if self.params.select == "tournament" else None
        if winner is not None:
            return winner
        threshold = self.params.threshold
        if threshold is not None:
            good = [c for c in candidates if c.score is not None and c.score >= threshold]
            if good:
                return good[0]
        scored = [c for c in candidates if c.score is not None]
        if scored:
            return max(scored, key=lambda c: c.score or 0.0)
        # A source that gives verdicts but no scores: ok beats unknown beats revise (first on ties).
        return max(candidates, key=lambda c: VERDICT_RANK.get(c.verdict, 1))

"""Best-of-N: sample N candidates in parallel, score each with any scorer, keep the best.

The scorer is the feedback source (a critic's `Score: n/m`, the share of tests
passed, a checklist, a reward model). As in DSPy's BestOfN, a `threshold`
says "good enough": the first candidate (in sampling order) that reaches it
wins; otherwise the highest score does. All N are sampled and scored
concurrently and all are kept in the trace. Without a feedback source the scorer
is `checklist`, built for the task by `build_strategy`: on a task graded by that
same checklist it is the grader's rubric, so the run is marked oracle.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from redraft.context import Context
from redraft.feedback.checklist import ChecklistFeedback
from redraft.strategies.base import MAX_SAMPLES, Final, Strategy
from redraft.strategies.registry import register
from redraft.tasks.base import Problem
from redraft.trace import Candidate, Verdict

#: How a verdict ranks a candidate when its source gives no score (None: not judged, as unknown).
VERDICT_RANK = {Verdict.OK: 2, Verdict.UNKNOWN: 1, None: 1, Verdict.REVISE: 0}

@register
class BestOfN(Strategy):
    name = "best_of_n"
    paper = "Best-of-N sampling with a verifier (Cobbe et al., 2021; DSPy BestOfN)"
    summary = "sample N in parallel, score each with the feedback source, keep the best"
    roles = ("generator", "critic")
    #: The scorer used when none is given; built for the task, so on a task graded by this same
    #: checklist (open_ended) it is an oracle and the run says so.
    default_feedback = "checklist"

    class Params(BaseModel):
        n: int = Field(4, ge=1, le=MAX_SAMPLES, description="candidates to sample")
        temperature: float = Field(0.7, ge=0, description="sampling temperature")
        threshold: float | None = Field(None, description="first candidate scoring at least this wins")

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        scorer = self.feedback or ChecklistFeedback()
        candidates = await ctx.sample_candidates(problem, self.params.n, temperature=self.params.temperature)
        await ctx.judge_all(scorer, problem, candidates)
        return Final(candidate=self.select(candidates), stop_reason="scored")

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        if not candidates:
            return None
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

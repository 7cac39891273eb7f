"""MAgICoRe (Chen et al. 2024): vote on easy problems, refine hard ones step by step with a reviewer.

    y_1..y_k ~ M(x), in parallel;  s_i = score(y_i): outcome + per-step scores, in parallel
    lineages = the top `refine_top` samples by reward (all k by default)
    for round in 1..3:
        pool = top k of every y so far by reward;  easy (reward-weighted vote agrees or is confident) -> stop
        for y = the latest solution of each lineage, in parallel:
            fb = reviewer(x, y with step scores: the low steps);  y' = refiner(x, y, fb);  score(y')
            y' becomes its lineage's latest
    final = reward-weighted vote over the pooled top k (its best-rewarded solution with that answer)

The scorer is the feedback source; the default `StepReward` makes the model its
own outcome and process reward model (role "reward", scores out of 10).
reward = mean(outcome, product of step scores) in [0, 1], as the paper's code adds
ORM + product(PRM). An unreadable score stays None: a step drops out of the
product, the outcome out of the mean; a solution with no reward does not vote.
Hard = low agreement AND low confidence, as in the paper's code: agreement =
2·(1 − sigmoid(entropy of the weighted vote shares)) < 0.5 (weight spread over more
than about three answers); confidence = mean reward of the winner's solutions <
`min_confidence`. The paper's code compares with the dataset's mean reward:
`min_confidence="dataset"` does that in `redraft eval`, which first runs the first phase
alone on every problem (`calibration_values`: the k samples and their rewards), takes the
mean reward over all scored samples of the evaluation (`calibrated_params`), records it, and
runs every problem with that number. One problem has no dataset: a single run needs a number
(default 0.5, mid-scale) and refuses "dataset".

Each round refines every lineage's latest solution once, so round 2 improves round 1's
refinements instead of re-refining the same parents (which, at a fixed temperature and
seed, gave the same child again and stacked duplicate votes). Reviews and refinements
sample at `temperature` too, each call with its own seed in a seeded run; scores are
taken at the run's own sampling, the same for samples and refinements.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Literal

from pydantic import BaseModel, Field

from redraft.context import BudgetExhausted, Context, gather
from redraft.feedback.base import FeedbackSource
from redraft.feedback.reward import StepReward, parse_reward, show_steps, split_steps
from redraft.strategies.base import MAX_SAMPLES, Final, Strategy
from redraft.strategies.registry import register
from redraft.strategies.voting import Vote, vote
from redraft.tasks.base import Problem
from redraft.trace import Candidate, Feedback, Verdict

REVIEW_PROMPT = """\
Give step-by-step feedback on the current solution. Each step ends with its score \
(Score: n/10): 10 means certainly correct, 0 certainly wrong. Pay attention to the steps \
scored below 6 ({low}), identify the errors in them and explain how each can be fixed. \
Do not write a new solution, only the explanation.

Problem:
{problem}

Current solution:
{steps}"""

REFINE_PROMPT = """\
Fix the errors in the current solution, using the reviewer's feedback. Review the \
solution and the feedback, then solve the problem again: write the complete corrected \
solution, ending with the final answer.

Problem:
{problem}

Current solution:
{steps}

Reviewer feedback:
{feedback}"""

def top_k(candidates: list[Candidate], k: int) -> list[Candidate]:
    """The k best-rewarded candidates, unscored last, earlier first on ties."""
    return sorted(candidates, key=lambda c: -c.score if c.score is not None else math.inf)[:k]


def weighted_vote(candidates: list[Candidate]) -> Vote:
    scored = [c for c in candidates if c.score is not None]
    if scored and sum(c.score or 0.0 for c in scored) > 0:
        return vote([c.answer for c in scored], [c.score or 0.0 for c in scored])
    return vote([c.answer for c in candidates])


def difficulty(pool: list[Candidate], min_agreement: float, min_confidence: float) -> dict[str, object]:
    """Easy or hard, from the agreement and confidence of the reward-weighted vote over `pool`."""
    result = weighted_vote(pool)
    total = sum(result.counts.values())
    entropy = -sum(w / total * math.log(w / total) for w in result.counts.values() if w > 0) if total else 0.0
    agreement = 2 * (1 - 1 / (1 + math.exp(-entropy))) if result.winner is not None else 0.0
    support = [c.score for c in pool if c.answer == result.winner and c.score is not None]
    confidence = sum(support) / len(support) if support and result.winner is not None else 0.0
    hard = agreement < min_agreement and confidence < min_confidence
    return {"hard": hard, "winner": result.winner, "agreement": agreement, "confidence": confidence}


@register
class MAgICoRe(Strategy):
    name = "magicore"
    paper = "MAgICoRe: Multi-Agent, Iterative, Coarse-to-Fine Refinement for Reasoning (Chen et al., 2024)"
    summary = "score k samples step by step; vote on easy problems, review and refine hard ones"
    roles = ("generator", "reward", "reviewer", "refiner")

    class Params(BaseModel):
        k: int = Field(8, ge=1, le=MAX_SAMPLES, description="samples and pool size (the paper's code: 40)")
        temperature: float = Field(0.8, ge=0, description="sampling temperature (the paper's code: 0.8)")
        max_rounds: int = Field(3, ge=0, description="review-refine rounds on hard problems")
        min_agreement: float = Field(0.5, description="hard needs vote agreement below this")
        min_confidence: float | Literal["dataset"] = Field(
            0.5, description="hard needs the winner's mean reward below this; \"dataset\" (the paper's "
                             "code, `redraft eval` only): the mean reward of all initial samples of the "
                             "evaluation, measured in a calibration pass before the real one")
        refine_top: int | None = Field(None, ge=1, description="refine the top n of the pool (None: all)")

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        self.require_calibrated()  # "dataset" is a number by now, or this is no evaluation
        min_confidence = float(self.params.min_confidence)
        scorer = self.feedback or StepReward()
        pool = await self._sample_and_score(problem, scorer, ctx)
        history: list[dict[str, object]] = []
        stop = "max_rounds"
        lineages = top_k(pool, self.params.k)[: self.params.refine_top]  # each lineage's latest
        for round_number in range(1, self.params.max_rounds + 1):
            state = difficulty(top_k(pool, self.params.k), self.params.min_agreement, min_confidence)
            history.append(state)
            if not state["hard"]:
                stop = "easy" if round_number == 1 else "confident"
                break
            lineages = await gather(*(self._refine(problem, latest, round_number, scorer, ctx)
                                      for latest in lineages))
            pool += lineages
        final = self.select(ctx.candidates)
        if final is not None:  # the vote and the difficulty checks, kept on the winner (select stays pure)
            top = top_k([c for c in ctx.candidates if c.kind in ("sample", "refine")], self.params.k)
            final.metadata.update(vote=weighted_vote(top).model_dump(), difficulty=history)
            ctx.update(final)
        return Final(candidate=final, stop_reason=stop)

    def awaiting_calibration(self) -> dict[str, Any]:
        return {"min_confidence": "dataset"} if self.params.min_confidence == "dataset" else {}

    async def calibration_values(self, problem: Problem, ctx: Context) -> list[float]:
        """The first phase alone: the rewards of this problem's scored samples (a budget cut keeps
        those scored before it); min_confidence="dataset" is their mean over every problem."""
        with contextlib.suppress(BudgetExhausted):
            await self._sample_and_score(problem, self.feedback or StepReward(), ctx)
        return [c.score for c in ctx.candidates if c.kind == "sample" and c.score is not None]

    def calibrated_params(self, values: list[float]) -> dict[str, Any]:
        return {"min_confidence": sum(values) / len(values)}

    async def _sample_and_score(self, problem: Problem, scorer: FeedbackSource, ctx: Context,
                                ) -> list[Candidate]:
        pool = await ctx.sample_candidates(problem, self.params.k, temperature=self.params.temperature)
        await gather(*(self._score(problem, c, scorer, ctx) for c in pool))
        return pool

    async def _score(self, problem: Problem, candidate: Candidate, scorer: FeedbackSource,
                     ctx: Context) -> None:
        judgement = await scorer.judge(problem, candidate.text, ctx)
        steps, outcome = parse_reward(judgement.text, len(split_steps(candidate.text)))
        candidate.metadata.update(step_scores=steps, outcome_score=outcome)
        ctx.annotate(candidate, judgement)

    async def _refine(self, problem: Problem, target: Candidate, round_number: int, scorer: FeedbackSource,
                      ctx: Context) -> Candidate:
        steps = split_steps(target.text)
        scores = target.metadata.get("step_scores") or [None] * len(steps)
        low = ", ".join(f"step {i + 1}" for i, s in enumerate(scores) if s is not None and s < 0.6)
        shown = show_steps(steps, scores)
        review = (await ctx.ask("reviewer", REVIEW_PROMPT.format(
            problem=problem.prompt, steps=shown, low=low or "none scored below 6; check every step"),
            temperature=self.params.temperature)).strip()
        ctx.annotate(target, Feedback(verdict=Verdict.REVISE, text=review, score=target.score))
        refined = await ctx.ask("refiner", REFINE_PROMPT.format(problem=problem.prompt, steps=shown,
                                                                feedback=review),
                                temperature=self.params.temperature)
        child = ctx.record(round=round_number, kind="refine", text=refined, parent=target.seq)
        await self._score(problem, child, scorer, ctx)
        return child

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """Reward-weighted vote over the top k of every solution; the best-rewarded one with that answer."""
        top = top_k([c for c in candidates if c.kind in ("sample", "refine")], self.params.k)
        if not top:
            return None
        result = weighted_vote(top)
        return next((c for c in top if c.answer == result.winner), top[0])

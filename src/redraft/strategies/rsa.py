"""RSA, Recursive Self-Aggregation (Venkatraman et al. 2025): evolve a population by aggregating subsets.

    P_0 = y_1..y_N ~ M(x) at temperature T, in parallel
    for t in 1..T:
        [optional] fb(y) for every y in P_{t-1}, in parallel         (only when a feedback source is given)
        S_i = K members of P_{t-1} drawn without replacement, for i in 1..N    (the run's seeded generator)
        P_t = [refiner(aggregate | x, S_i) for i in 1..N], in parallel, at temperature T
    final = the first member of P_T carrying the majority answer (ties: the answer seen first)

Each aggregation sees only K of the N members, so good reasoning spreads through the
population over rounds instead of being averaged away in one call, and every round keeps
N different solutions to vote over. Defaults are the authors' runs (`--population 16 --k 4
--loops 10`): N(T + 1) = 176 calls. K = 1 makes each member a refinement of one other;
T = 0 is a majority vote over N samples (self-consistency).

GSR (`strategies.gsr`) is the one-round, K = N case with a new population of one (so no vote):
the aggregation prompt and the majority rule are GSR's own functions (`synthesis_prompt`,
`majority`), not copies, so the two methods differ only in the loop. As in GSR, a feedback
source is optional; when given, each member is judged before it is aggregated and the refiner
sees its judgement. The temperature of the paper's runs is not stated with the method; 0.7
here, as for the package's other samplers. The majority answer of P_0 is kept on the final
candidate (`initial_majority`), so one run shows what aggregation changed over the vote.
If the budget refuses some aggregations of a round, the round's population is what was paid
for, the loop stops there and its vote is the answer (stop reason "budget").
"""

from __future__ import annotations

from pydantic import BaseModel, Field, model_validator

from redraft.context import BudgetExhausted, Context, gather
from redraft.strategies.base import MAX_SAMPLES, Final, Strategy
from redraft.strategies.gsr import majority, synthesis_prompt
from redraft.strategies.randomness import seeded_rng
from redraft.strategies.registry import register
from redraft.tasks.base import Problem
from redraft.trace import Candidate

MEMBERS = ("sample", "aggregate")


@register
class RSA(Strategy):
    name = "rsa"
    paper = (
        "Recursive Self-Aggregation Unlocks Deep Thinking in Large Language Models (Venkatraman et al., 2025)"
    )
    summary = "a population of N; each round N aggregations of K random members; majority vote at the end"
    roles = ("generator", "refiner")

    class Params(BaseModel):
        n: int = Field(16, ge=1, le=MAX_SAMPLES, description="population size N (paper: 16)")
        k: int = Field(4, ge=1, le=MAX_SAMPLES, description="members shown to each aggregation, K (paper: 4)")
        rounds: int = Field(10, ge=0, description="aggregation rounds T (paper: 10)")
        temperature: float = Field(0.7, ge=0, description="temperature of the samples and aggregations")

        @model_validator(mode="after")
        def _subset_fits(self) -> RSA.Params:
            if self.k > self.n:
                raise ValueError(f"k={self.k} members cannot be drawn from a population of n={self.n}")
            return self

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        p = self.params
        rng = seeded_rng(self.name, ctx, problem)
        population = await ctx.sample_candidates(problem, p.n, temperature=p.temperature)
        initial, _ = majority(population)
        for round_number in range(1, p.rounds + 1):
            if self.feedback is not None:
                await ctx.judge_all(self.feedback, problem, population)
            size = min(p.k, len(population))
            subsets = [[population[i] for i in rng.sample(range(len(population)), size)] for _ in range(p.n)]
            texts = await gather(*(self._aggregate(problem, subset, ctx) for subset in subsets))
            population = [
                ctx.record(
                    round=round_number,
                    kind="aggregate",
                    text=text,
                    metadata={"index": index, "sources": [member.seq for member in subset]},
                )
                for index, (text, subset) in enumerate(zip(texts, subsets, strict=True))
                if text is not None
            ] or population
            if any(text is None for text in texts):
                ctx.ledger.limited = True  # the budget paid for part of the round: vote over it
                break
        chosen = self.select(ctx.candidates)
        if chosen is not None:  # the vote itself, kept on the winner (select stays pure)
            _, result = majority(self._last_population(ctx.candidates))
            chosen.metadata.update(
                vote=result.model_dump(), initial_majority=initial.answer if initial else None
            )
            ctx.update(chosen)
        return Final(candidate=chosen, stop_reason="rounds")

    async def _aggregate(self, problem: Problem, subset: list[Candidate], ctx: Context) -> str | None:
        """One aggregation of `subset` into an improved solution; None if the budget refused it."""
        try:
            return await ctx.ask(
                "refiner", synthesis_prompt(problem, subset), temperature=self.params.temperature
            )
        except BudgetExhausted:
            return None

    @staticmethod
    def _last_population(candidates: list[Candidate]) -> list[Candidate]:
        members = [c for c in candidates if c.kind in MEMBERS] or candidates
        last = max((c.round for c in members), default=0)
        return [c for c in members if c.round == last]

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The majority vote over the last population (the first member with the winning answer)."""
        chosen, _ = majority(self._last_population(candidates))
        return chosen

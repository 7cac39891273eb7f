"""Pairwise tournament with Enhanced Borda Count (LLaMA-Berry, Zhang et al. 2024): rank by comparing pairs.

    y_1..y_n ~ M(x) at temperature T, in parallel                        (n <= 8)
    for every pair i != j, all in parallel (so each pair in both orders):
        v(i, j) = reward(x, Solution 1 = y_i, Solution 2 = y_j)         "BEST: 1" means y_i is better
    p(i > j) = share of the readable votes on {i, j} that prefer y_i   (the soft preference; 1/2 if none)
    W[i][j] = p(i > j) > 1/2                                            (the win matrix)
    W* = transitive closure of W                                        (i > k and k > j  =>  i > j)
    borda(i) = #{j != i : W*[i][j]};  soft(i) = sum over j != i of p(i > j)
    final = the candidate with the highest (borda, soft); a remaining tie goes to the earlier one

Asking in both orders cancels an LLM judge's position bias: a pair both orders agree on is a
win (p = 1), a split pair is no edge (p = 1/2). The closure is what makes the count global: a
candidate that beats one that beats a third beats the third too, even if that pair split; in a
cycle (a > b > c > a) every member beats every other, the counts tie and the soft preference
(how clearly each won its own comparisons) decides.

Where this follows the paper's idea rather than its letter: LLaMA-Berry's preferences come from
a trained pairwise preference reward model (PPRM) as probabilities; here the `reward` role
(the model itself, or a stronger one) is asked in text, with ART's pairwise prompt and its
explicit "BEST: 1|2" line, so each vote is 0 or 1 and p is their mean. LLaMA-Berry blends the
global Borda rank with its tree's local values; here the ranking alone selects. A round robin
costs n(n - 1) calls (56 at n = 8), so entrants are capped at `MAX_ENTRANTS` (no Swiss pairing).

`run_tournament` is the selector other strategies share (`best_of_n[select=tournament]`,
`mctsr[final=tournament]`): it ranks recorded candidates and writes each one's rank, Borda count,
soft preference and the seqs it beats into `metadata["tournament"]`; `tournament_winner` reads
the winner back, so each strategy's `select` stays pure. An unreadable vote is no vote (counted
in `unreadable_votes`); a comparison the budget refuses is no vote either (`cut_votes`, and the
stop reason becomes "budget"), and if the budget refused them all the ranking is not made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import BaseModel, Field

from redraft.context import BudgetExhausted, Context, gather
from redraft.feedback.asker import last_match
from redraft.feedback.base import FeedbackSource
from redraft.strategies.art import BEST, TRUST_PROMPT
from redraft.strategies.base import Final, Strategy, StrategyError
from redraft.strategies.gsr import majority
from redraft.strategies.registry import register
from redraft.tasks.base import Problem
from redraft.trace import Candidate

#: The most candidates one round robin takes: 8 is 56 comparison calls.
MAX_ENTRANTS = 8

Vote = tuple[int, int, bool | None]  # (first shown, second shown, whether the first won; None: unreadable)


@dataclass
class Ranking:
    """A tournament's result over candidates 0..n-1 (in the order given)."""

    order: list[int]  # best first
    borda: list[int]
    soft: list[float]
    beats: list[list[int]]  # whom each candidate beats after the closure
    unreadable_votes: int = 0
    cut_votes: int = 0


def read_vote(reply: str) -> bool | None:
    """Whether the reply prefers the solution shown first ("BEST: 1"); None if it names neither."""
    best = last_match(BEST, reply)
    return None if best is None else best == "1"


def preferences(n: int, votes: Sequence[Vote]) -> list[list[float]]:
    """p[i][j]: the share of the readable votes on {i, j} that prefer i; 1/2 when none is readable."""
    wins = [[0] * n for _ in range(n)]
    for first, second, first_won in votes:
        if first_won is not None:
            winner, loser = (first, second) if first_won else (second, first)
            wins[winner][loser] += 1
    return [
        [
            0.0 if i == j else (wins[i][j] / total if (total := wins[i][j] + wins[j][i]) else 0.5)
            for j in range(n)
        ]
        for i in range(n)
    ]


def transitive_closure(wins: list[list[bool]]) -> list[list[bool]]:
    """W*: i beats j if a chain of wins leads from i to j (Floyd-Warshall on booleans)."""
    closed = [row[:] for row in wins]
    for k in range(len(closed)):
        for i in range(len(closed)):
            if closed[i][k]:
                closed[i] = [a or b for a, b in zip(closed[i], closed[k], strict=True)]
    return closed


def rank(n: int, votes: Sequence[Vote]) -> Ranking:
    """Enhanced Borda Count: wins after the closure, ties by the soft preference, then by position."""
    p = preferences(n, votes)
    closed = transitive_closure([[p[i][j] > 0.5 for j in range(n)] for i in range(n)])
    beats = [[j for j in range(n) if j != i and closed[i][j]] for i in range(n)]
    borda = [len(won) for won in beats]
    soft = [sum(p[i][j] for j in range(n) if j != i) for i in range(n)]
    order = sorted(range(n), key=lambda i: (-borda[i], -soft[i], i))
    return Ranking(
        order=order, borda=borda, soft=soft, beats=beats, unreadable_votes=sum(v[2] is None for v in votes)
    )


async def run_tournament(
    problem: Problem, candidates: list[Candidate], ctx: Context, *, role: str = "reward", score: bool = False
) -> Ranking:
    """Compare every pair of `candidates` in both orders (concurrently), rank them and record it.

    With `score`, each candidate's score becomes its Borda count (for strategies with no other score).
    """
    n = len(candidates)
    if n > MAX_ENTRANTS:
        raise StrategyError(
            f"a tournament takes at most {MAX_ENTRANTS} candidates (a round robin of "
            f"{n} is {n * (n - 1)} calls); got {n}"
        )
    pairs = [pair for i in range(n) for j in range(i + 1, n) for pair in ((i, j), (j, i))]

    async def compare(first: int, second: int) -> str | None:
        prompt = TRUST_PROMPT.format(
            problem=problem.prompt, first=candidates[first].text, second=candidates[second].text
        )
        try:
            return await ctx.ask(role, prompt)
        except BudgetExhausted:
            return None

    replies = await gather(*(compare(i, j) for i, j in pairs))
    cut = sum(reply is None for reply in replies)
    if pairs and cut == len(pairs):
        raise BudgetExhausted("the budget ended before any comparison of the tournament")
    ctx.ledger.limited = ctx.ledger.limited or cut > 0
    votes = [
        (i, j, read_vote(reply)) for (i, j), reply in zip(pairs, replies, strict=True) if reply is not None
    ]
    ranking = rank(n, votes)
    ranking.cut_votes = cut
    for place, index in enumerate(ranking.order, start=1):
        candidate = candidates[index]
        candidate.metadata["tournament"] = {
            "rank": place,
            "borda": ranking.borda[index],
            "soft": ranking.soft[index],
            "beats": [candidates[j].seq for j in ranking.beats[index]],
            "entrants": n,
            "unreadable_votes": ranking.unreadable_votes,
            "cut_votes": cut,
        }
        if score:
            candidate.score = float(ranking.borda[index])
        ctx.update(candidate)
    return ranking


def tournament_winner(candidates: list[Candidate]) -> Candidate | None:
    """The candidate ranked first by the latest tournament among `candidates`, or None if none ran."""
    winners = [c for c in candidates if c.metadata.get("tournament", {}).get("rank") == 1]
    return winners[-1] if winners else None


@register
class Tournament(Strategy):
    name = "tournament"
    paper = (
        "LLaMA-Berry: Pairwise Optimization for O1-like Olympiad-Level Mathematical Reasoning "
        "(Zhang et al., 2024)"
    )
    summary = "n samples, every pair compared in both orders, Enhanced Borda Count (win matrix + closure)"
    roles = ("generator", "reward")

    class Params(BaseModel):
        n: int = Field(
            4,
            ge=1,
            le=MAX_ENTRANTS,
            description=f"candidates sampled and ranked (at most {MAX_ENTRANTS}: n(n-1) comparisons)",
        )
        temperature: float = Field(0.7, ge=0, description="sampling temperature of the candidates")

    params: Params

    def __init__(self, feedback: FeedbackSource | None = None, **params: object) -> None:
        if feedback is not None:
            raise StrategyError(
                "tournament takes no feedback source: its judge is the pairwise comparison "
                "(bind a model to the `reward` role instead)"
            )
        super().__init__(None, **params)

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        samples = await ctx.sample_candidates(problem, self.params.n, temperature=self.params.temperature)
        await run_tournament(problem, samples, ctx, score=True)
        return Final(candidate=self.select(samples), stop_reason="ranked")

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The tournament's winner; cut off before it ranked anything, the majority-vote sample."""
        winner = tournament_winner(candidates)
        if winner is not None:
            return winner
        chosen, _ = majority([c for c in candidates if c.kind == "sample"] or candidates)
        return chosen

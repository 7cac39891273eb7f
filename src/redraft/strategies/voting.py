"""Voting over *extracted* answers, the rule self-consistency and its relatives share.

Whole texts almost never repeat; the answers read out of them do. Candidates
with no extractable answer do not vote. Ties go to the answer seen first, so the
result does not depend on dict ordering or on luck.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel


class Vote(BaseModel):
    winner: str | None
    counts: dict[str, float]
    voters: int

    @property
    def agreement(self) -> float:
        """Share of the voting weight that went to the winner (0 when nobody voted)."""
        total = sum(self.counts.values())
        return self.counts[self.winner] / total if self.winner is not None and total else 0.0


def vote(answers: Sequence[str | None], weights: Sequence[float] | None = None) -> Vote:
    """Majority (or weighted) vote; `weights[i]` is the weight of `answers[i]`."""
    counts: dict[str, float] = {}
    for index, answer in enumerate(answers):
        if answer is None:
            continue
        weight = 1.0 if weights is None else weights[index]
        counts[answer] = counts.get(answer, 0.0) + weight
    winner = max(counts, key=lambda a: counts[a]) if counts else None  # max keeps the first on ties
    return Vote(winner=winner, counts=counts, voters=sum(a is not None for a in answers))

"""Voting over *extracted* answers, the rule self-consistency and its relatives share.

Whole texts almost never repeat; the answers read out of them do. Candidates
with no extractable answer do not vote. Ties go to the answer seen first (the one
rule every vote here uses), so the result does not depend on dict ordering or on
luck; a tie is never silent, though: `Vote.tied` lists every answer that shared the
top weight, and each strategy keeps its vote on the chosen candidate's metadata,
so an evaluation can count how many finals a tie-break decided.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel, computed_field


class Vote(BaseModel):
    winner: str | None
    counts: dict[str, float]
    voters: int
    #: The answers sharing the top weight when more than one does (in first-seen order), else [].
    tied: list[str] = []
    #: In a weighted vote, voters that had no score: counted here, given no weight (a missing
    #: score is not the best score).
    unscored: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def tie(self) -> bool:
        """Whether the winner was decided by the tie-break rule rather than by the votes."""
        return len(self.tied) > 1

    @property
    def agreement(self) -> float:
        """Share of the voting weight that went to the winner (0 when nobody voted)."""
        total = sum(self.counts.values())
        return self.counts[self.winner] / total if self.winner is not None and total else 0.0


def vote(answers: Sequence[str | None], weights: Sequence[float | None] | None = None) -> Vote:
    """Majority (or weighted) vote; `weights[i]` is the weight of `answers[i]`.

    A weight of None (a sample its judge gave no score) is counted apart in `unscored` and
    adds nothing; when no voter has a weight at all, the vote is a plain majority.
    """
    if weights is not None and all(w is None for a, w in zip(answers, weights, strict=True) if a is not None):
        weights = None
    counts: dict[str, float] = {}
    unscored = 0
    for index, answer in enumerate(answers):
        if answer is None:
            continue
        weight = 1.0 if weights is None else weights[index]
        if weight is None:
            unscored += 1
            continue
        counts[answer] = counts.get(answer, 0.0) + weight
    winner = max(counts, key=lambda a: counts[a]) if counts else None  # max keeps the first on ties
    top = [a for a, c in counts.items() if winner is not None and math.isclose(c, counts[winner])]
    return Vote(winner=winner, counts=counts, voters=sum(a is not None for a in answers),
                tied=top if len(top) > 1 else [], unscored=unscored)

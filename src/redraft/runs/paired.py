"""Paired tests for comparing two strategies on the same problems, without scipy.

A delta between two accuracies measured on different problem sets, or with no
interval, says little at the sizes redraft runs at; these pair each problem's
two outcomes: McNemar's exact test on the discordant pairs and a seeded paired
bootstrap interval on the accuracy difference, both deterministic.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0


def mcnemar_exact(only_first: int, only_second: int) -> float:
    """Two-sided exact McNemar p-value: a binomial test of the discordant pairs against 1/2.

    `only_first`: problems the first side got right and the second wrong; `only_second` the
    reverse. With no discordant pair there is no evidence of a difference: p = 1.
    """
    if only_first < 0 or only_second < 0:
        raise ValueError("discordant counts cannot be negative")
    n = only_first + only_second
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(only_first, only_second) + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_bootstrap(
    first: Sequence[bool], second: Sequence[bool], *, resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED, level: float = 0.95,
) -> tuple[float, float] | None:
    """Percentile interval of accuracy(first) - accuracy(second), resampling problems (pairs kept).

    Seeded, so the same items give the same interval; None with no pair to resample.
    """
    if len(first) != len(second):
        raise ValueError(f"paired samples differ in length: {len(first)} and {len(second)}")
    n = len(first)
    if n == 0:
        return None
    diffs = [int(a) - int(b) for a, b in zip(first, second, strict=True)]
    rng = random.Random(seed)
    means = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    tail = (1 - level) / 2
    low = means[int(math.floor(tail * (resamples - 1)))]
    high = means[int(math.ceil((1 - tail) * (resamples - 1)))]
    return (low, high)

"""Paired tests for comparing two strategies on the same problems, without scipy (and the
score intervals they are built from: Wilson's, Newcombe's for independent proportions).

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


def wilson_interval(successes: float, n: float, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval: honest at small n and near 0 or 1, unlike the normal one.

    With n = 0 nothing is known: the interval is all of (0, 1), never a confident (0, 0).
    `successes` may be fractional (a tie counted as half a success, an expected count): for an
    outcome bounded in [0, 1] the Bernoulli variance p(1 − p) is the largest there is, so the
    interval stays conservative. The bounds always hold p itself: at p = 0 or 1 the formula's
    bound lands a rounding error past it (0.9999999999999999 at 10,000 of 10,000), and a report's
    error bar from p to that bound would be of negative length (matplotlib refuses it).
    """
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half)))


def newcombe_paired(
    first: Sequence[bool], second: Sequence[bool], z: float = 1.96
) -> tuple[float, float] | None:
    """95% interval of accuracy(first) − accuracy(second) on paired outcomes: Newcombe's hybrid
    score interval for paired proportions (Newcombe 1998, method 10), from the two Wilson intervals
    and the pairs' correlation.

    Unlike a bootstrap, it never collapses to [0, 0] when the two sides never disagree: ten pairs
    that all agree leave a difference of about ±28 points possible, which is what ten pairs can say.
    """
    if len(first) != len(second):
        raise ValueError(f"paired samples differ in length: {len(first)} and {len(second)}")
    if not first:
        return None
    pairs = list(zip(first, second, strict=True))
    both = sum(1 for a, b in pairs if a and b)
    only_first = sum(1 for a, b in pairs if a and not b)
    only_second = sum(1 for a, b in pairs if b and not a)
    neither = len(pairs) - both - only_first - only_second
    return newcombe_paired_counts(both, only_first, only_second, neither, z)


def newcombe_paired_counts(
    both: float, only_first: float, only_second: float, neither: float, z: float = 1.96
) -> tuple[float, float] | None:
    """`newcombe_paired` from the 2×2 table of the pairs (counts may be fractional: expected counts
    of pairs drawn at random, as `redraft.studies.gen_verify_gap` builds them). None for no pairs."""
    n = both + only_first + only_second + neither
    if n <= 0:
        return None
    p1, p2 = (both + only_first) / n, (both + only_second) / n
    l1, u1 = wilson_interval(both + only_first, n, z)
    l2, u2 = wilson_interval(both + only_second, n, z)
    spread = (both + only_first) * (only_second + neither) * (both + only_second) * (only_first + neither)
    phi = (both * neither - only_first * only_second) / math.sqrt(spread) if spread > 0 else 0.0
    d = p1 - p2
    low = d - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    high = d + math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return (max(-1.0, low), min(1.0, high))


def newcombe_independent(
    successes_1: float, n_1: float, successes_2: float, n_2: float, z: float = 1.96
) -> tuple[float, float] | None:
    """95% interval of p1 − p2 for two independent proportions: Newcombe's hybrid score interval
    (Newcombe 1998, "Interval estimation for the difference between independent proportions",
    method 10), from the two Wilson intervals. Like the paired one it never collapses to a point
    when both sides are all 0 or all 1. None when either side has nothing."""
    if n_1 <= 0 or n_2 <= 0:
        return None
    p1, p2 = successes_1 / n_1, successes_2 / n_2
    l1, u1 = wilson_interval(successes_1, n_1, z)
    l2, u2 = wilson_interval(successes_2, n_2, z)
    d = p1 - p2
    return (max(-1.0, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)),
            min(1.0, d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)))


def student_t_within(t: float, df: int) -> float:
    """P(|T| ≤ t) for Student's t with `df` (a whole number ≥ 1) degrees of freedom, exactly.

    The finite series of Abramowitz and Stegun 26.7.3 (odd df) and 26.7.4 (even df) in
    θ = atan(t/√df): odd, (2/π)(θ + sin θ Σ a_k cos^(2k+1) θ) with a_0 = 1, a_k = a_(k−1)·2k/(2k+1),
    k < (df−1)/2; even, sin θ Σ b_k cos^(2k) θ with b_0 = 1, b_k = b_(k−1)·(2k−1)/(2k), k < df/2.
    """
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {df}")
    theta = math.atan(abs(t) / math.sqrt(df))
    sin, cos = math.sin(theta), math.cos(theta)
    if df % 2:
        total, term = 0.0, cos
        for k in range(1, (df - 1) // 2 + 1):
            total += term
            term *= cos * cos * 2 * k / (2 * k + 1)
        return min(1.0, 2 / math.pi * (theta + sin * total))
    total, term = 0.0, 1.0
    for k in range(1, df // 2 + 1):
        total += term
        term *= cos * cos * (2 * k - 1) / (2 * k)
    return min(1.0, sin * total)


def student_t_quantile(level: float, df: int) -> float:
    """The t with P(|T| ≤ t) = `level` (e.g. 12.706 for 0.95 at df = 1, 2.045 at df = 29), by bisection."""
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level}")
    low, high = 0.0, 1.0
    while student_t_within(high, df) < level:
        low, high = high, high * 2
    for _ in range(200):
        middle = (low + high) / 2
        if student_t_within(middle, df) < level:
            low = middle
        else:
            high = middle
        if high - low < 1e-12:
            break
    return (low + high) / 2


def paired_t(diffs: Sequence[float], level: float = 0.95) -> tuple[float, float, float] | None:
    """A paired t interval on the mean of per-problem differences, and its two-sided p:
    (low, high, p), with the sample standard deviation (n − 1) and Student's t at n − 1 df.

    For differences of scores (a critic's 7/10), which are not proportions: the mean of bounded
    differences is close to normal by n = 10 or so, and the t's heavier tails keep the interval
    honest below that, where a percentile bootstrap is too narrow. None with fewer than two
    problems, or when every difference is the same (no spread): a zero-width interval would decide
    a claim on two problems that happened to agree.
    """
    n = len(diffs)
    if n < 2:
        return None
    mean = sum(diffs) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    if sd <= 1e-12 * max(1.0, abs(mean)):
        return None
    se = sd / math.sqrt(n)
    half = student_t_quantile(level, n - 1) * se
    return (mean - half, mean + half, 1.0 - student_t_within(mean / se, n - 1))

"""Intervals for study figures that are not one right/wrong per problem per side.

- `mean_gap_by_problem`: the mean over problems of (rate on one subset of a problem's samples −
  rate on all of them), e.g. the accuracy of the samples a verifier accepted minus the accuracy of
  every sample. Its interval is Newcombe's paired interval on the 2×2 table of *expected* counts of
  one pair of draws per problem (a sample drawn from the subset, one drawn from all of them,
  independently): per problem with rates f and g, f·g both right, f·(1 − g) only the first, and so
  on. Drawing one such pair per problem is a paired design Newcombe's interval covers; averaging
  over the draws (instead of drawing) gives the all-samples estimate, whose variance is no larger
  than the drawn one's (Rao–Blackwell), so the drawn design's interval, centred on it, stays
  conservative. And, like every interval here, it never collapses to a point when every problem
  says the same (all samples wrong; a verifier that accepts everything), which a bootstrap over
  problems does, and a verdict read off a collapsed interval would call no evidence proof.
- `binary_auroc`: the AUROC of a yes/no score (a verdict) against right/wrong labels, which is
  0.5 + (TPR − FPR)/2 (ties counted half). Its interval is the hull of two: Newcombe's interval for
  the difference of the two independent proportions TPR and FPR over samples (which does not
  collapse, but treats a problem's samples as independent), and a seeded percentile bootstrap over
  problems (which keeps a problem's samples together, as they are correlated, but collapses when
  every verdict is the same). The hull covers when either would: conservative under both failure
  modes.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from redraft.runs.paired import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    newcombe_independent,
    newcombe_paired_counts,
)
from redraft.studies.base import Measured

Z95 = 1.96


def mean_gap_by_problem(pairs: Sequence[tuple[float, float]]) -> Measured:
    """mean(first − second) over problems, each a pair of rates in [0, 1], with the interval of the
    module's docstring (no McNemar p: the counts are expected ones, not observed pairs)."""
    n = len(pairs)
    if n == 0:
        return Measured(effect=None, ci_low=None, ci_high=None, n=0, p_value=None, sd=None)
    both = sum(f * g for f, g in pairs)
    only_first = sum(f * (1 - g) for f, g in pairs)
    only_second = sum((1 - f) * g for f, g in pairs)
    neither = sum((1 - f) * (1 - g) for f, g in pairs)
    interval = newcombe_paired_counts(both, only_first, only_second, neither, Z95)
    assert interval is not None
    # sd left out: the n that would decide is read off this interval, whose width is the drawn design's.
    return Measured(
        effect=sum(f - g for f, g in pairs) / n,
        ci_low=interval[0],
        ci_high=interval[1],
        n=n,
        p_value=None,
        sd=None,
    )


@dataclass(frozen=True)
class VerdictCounts:
    """One problem's samples with a verdict: how many were right, wrong, and accepted of each."""

    right: int
    wrong: int
    accepted_right: int
    accepted_wrong: int

    def __add__(self, other: VerdictCounts) -> VerdictCounts:
        return VerdictCounts(
            self.right + other.right,
            self.wrong + other.wrong,
            self.accepted_right + other.accepted_right,
            self.accepted_wrong + other.accepted_wrong,
        )


NO_COUNTS = VerdictCounts(0, 0, 0, 0)


def total(counts: Sequence[VerdictCounts]) -> VerdictCounts:
    summed = NO_COUNTS
    for c in counts:
        summed = summed + c
    return summed


def auroc_of(counts: VerdictCounts) -> float | None:
    """0.5 + (TPR − FPR)/2: the AUROC of a yes/no score, ties half. None without right or wrong samples."""
    if counts.right == 0 or counts.wrong == 0:
        return None
    return 0.5 + (counts.accepted_right / counts.right - counts.accepted_wrong / counts.wrong) / 2


def bootstrap_auroc(
    by_problem: Sequence[VerdictCounts], *, resamples: int = BOOTSTRAP_RESAMPLES, seed: int = BOOTSTRAP_SEED
) -> tuple[float, float, int] | None:
    """Percentile 95% interval of the AUROC, resampling problems (their samples kept together);
    resamples with no right or no wrong sample have no AUROC and are left out. Returns (low, high,
    resamples used), None when none had one."""
    n = len(by_problem)
    if n == 0:
        return None
    rng = random.Random(seed)
    values = sorted(
        v for v in (auroc_of(total(rng.choices(by_problem, k=n))) for _ in range(resamples)) if v is not None
    )
    if not values:
        return None
    used = len(values)
    return values[math.floor(0.025 * (used - 1))], values[math.ceil(0.975 * (used - 1))], used


def binary_auroc(by_problem: Sequence[VerdictCounts]) -> tuple[Measured, dict[str, float | int | None]]:
    """The AUROC of yes/no verdicts against right/wrong over problems, with the hull interval of the
    module's docstring, and what it is made of (TPR, FPR, both intervals). n counts problems: the
    unit more problems would add (`--limit`), not samples."""
    counts = total(by_problem)
    value = auroc_of(counts)
    parts: dict[str, float | int | None] = {
        "tpr": counts.accepted_right / counts.right if counts.right else None,
        "fpr": counts.accepted_wrong / counts.wrong if counts.wrong else None,
        "right_samples": counts.right,
        "wrong_samples": counts.wrong,
    }
    if value is None:
        return Measured(effect=None, ci_low=None, ci_high=None, n=0, p_value=None, sd=None), parts
    score = newcombe_independent(
        counts.accepted_right, counts.right, counts.accepted_wrong, counts.wrong, Z95
    )
    assert score is not None
    low, high = 0.5 + score[0] / 2, 0.5 + score[1] / 2
    parts.update(score_low=low, score_high=high)
    boot = bootstrap_auroc(by_problem)
    if boot is not None:
        parts.update(bootstrap_low=boot[0], bootstrap_high=boot[1], bootstrap_resamples=boot[2])
        low, high = min(low, boot[0]), max(high, boot[1])
    return Measured(effect=value, ci_low=low, ci_high=high, n=len(by_problem), p_value=None, sd=None), parts

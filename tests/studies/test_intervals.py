"""The intervals of studies whose figures are not one right/wrong per problem per side."""

from __future__ import annotations

import random

import pytest

from redraft.runs.paired import newcombe_independent, newcombe_paired, newcombe_paired_counts, wilson_interval
from redraft.studies.intervals import VerdictCounts, binary_auroc, mean_gap_by_problem


def test_newcombe_from_counts_is_newcombe_from_pairs() -> None:
    rng = random.Random(1)
    for _ in range(20):
        first = [rng.random() < 0.6 for _ in range(25)]
        second = [rng.random() < 0.4 for _ in range(25)]
        both = sum(a and b for a, b in zip(first, second, strict=True))
        only_first = sum(a and not b for a, b in zip(first, second, strict=True))
        only_second = sum(b and not a for a, b in zip(first, second, strict=True))
        counts = newcombe_paired_counts(both, only_first, only_second, 25 - both - only_first - only_second)
        assert counts == newcombe_paired(first, second)
    assert newcombe_paired_counts(0, 0, 0, 0) is None


def test_newcombe_independent_matches_newcombes_worked_example() -> None:
    # Newcombe 1998 (independent proportions), example (a): 56/70 − 48/80; method 10 gives 0.0524 to 0.3339.
    low, high = newcombe_independent(56, 70, 48, 80)  # type: ignore[misc]
    assert (low, high) == (pytest.approx(0.0524, abs=1e-4), pytest.approx(0.3339, abs=1e-4))
    assert newcombe_independent(0, 0, 1, 2) is None
    # All accepted on both sides: no difference seen, and none ruled out either.
    low, high = newcombe_independent(40, 40, 40, 40)  # type: ignore[misc]
    assert low < 0 < high


def test_wilson_takes_fractional_successes_between_the_whole_ones() -> None:
    assert wilson_interval(2, 5)[0] < wilson_interval(2.5, 5)[0] < wilson_interval(3, 5)[0]
    assert wilson_interval(2.5, 5) == pytest.approx(
        (1 - wilson_interval(2.5, 5)[1], 1 - wilson_interval(2.5, 5)[0])
    )


def test_the_mean_gap_of_rates_and_its_interval() -> None:
    measured = mean_gap_by_problem([(1.0, 0.5)] * 30)
    assert measured.effect == 0.5 and measured.n == 30 and measured.p_value is None
    # The 2×2 table of expected counts is 15 both, 15 only the first: Newcombe's interval on it.
    assert (measured.ci_low, measured.ci_high) == pytest.approx(newcombe_paired_counts(15, 15, 0, 0))
    assert measured.ci_low is not None and measured.ci_low > 0
    for degenerate in ([(0.0, 0.0)] * 30, [(0.5, 0.5)] * 30, [(1.0, 1.0)] * 30):
        flat = mean_gap_by_problem(degenerate)
        assert flat.effect == 0.0 and flat.ci_low is not None and flat.ci_low < 0 < (flat.ci_high or 0)
    assert mean_gap_by_problem([]).effect is None and mean_gap_by_problem([]).n == 0


def test_binary_auroc_is_half_plus_half_of_tpr_minus_fpr_with_a_hull_interval() -> None:
    problems = [VerdictCounts(right=4, wrong=4, accepted_right=3, accepted_wrong=1)] * 10
    measured, parts = binary_auroc(problems)
    assert measured.effect == pytest.approx(0.5 + (0.75 - 0.25) / 2) and measured.n == 10
    assert (parts["tpr"], parts["fpr"]) == (0.75, 0.25)
    assert measured.ci_low == min(parts["score_low"], parts["bootstrap_low"])  # type: ignore[type-var]
    assert measured.ci_high == max(parts["score_high"], parts["bootstrap_high"])  # type: ignore[type-var]
    # No wrong sample at all: no AUROC, nothing measured.
    none, parts = binary_auroc([VerdictCounts(right=3, wrong=0, accepted_right=2, accepted_wrong=0)])
    assert none.effect is None and none.n == 0 and parts["fpr"] is None

"""Student's t without scipy: the exact two-sided CDF, its quantiles against the printed table, and the
paired t interval the studies use for score differences."""

from __future__ import annotations

import math

import pytest

from redraft.runs.paired import paired_t, student_t_quantile, student_t_within
from redraft.studies.base import mean_difference


@pytest.mark.parametrize(
    ("df", "t975"),
    [(1, 12.7062), (2, 4.3027), (3, 3.1824), (4, 2.7764), (9, 2.2622), (29, 2.0452), (100, 1.9840)],
)
def test_quantiles_match_the_table(df: int, t975: float) -> None:
    assert student_t_quantile(0.95, df) == pytest.approx(t975, abs=1e-4)


def test_the_cdf_in_closed_form() -> None:
    assert student_t_within(1.0, 1) == pytest.approx(0.5)  # Cauchy: P(|T| ≤ 1) = 2·atan(1)/π
    assert student_t_within(2.0, 2) == pytest.approx(2 / math.sqrt(6))  # df 2: t / √(2 + t²)
    assert student_t_within(0.0, 5) == 0.0 and student_t_within(1e6, 7) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least 1"):
        student_t_within(1.0, 0)


def test_a_paired_t_interval_by_hand() -> None:
    # mean 0.2, sd 0.1 (n − 1), se 0.1/√3, t(2) = 4.3027
    low, high, p = paired_t([0.1, 0.2, 0.3]) or (0.0, 0.0, 0.0)
    half = 4.302653 * 0.1 / math.sqrt(3)
    assert (low, high) == (pytest.approx(0.2 - half), pytest.approx(0.2 + half))
    assert p == pytest.approx(1 - student_t_within(0.2 / (0.1 / math.sqrt(3)), 2))


def test_no_interval_from_one_problem_or_from_differences_that_all_agree() -> None:
    assert paired_t([0.5]) is None and paired_t([]) is None
    assert paired_t([0.3, 0.3, 0.3]) is None  # zero width would decide a claim on three equal rows
    agreeing = mean_difference([0.0] * 10)
    assert agreeing.effect == 0.0 and agreeing.ci_low is None and agreeing.n == 10
    assert mean_difference([]).n == 0 and mean_difference([]).effect is None

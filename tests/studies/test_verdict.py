"""The verdict rule at its boundaries, and the n it would take to decide."""

from __future__ import annotations

import math

import pytest

from redraft.studies.base import paired_effect
from redraft.studies.verdict import decide, n_to_decide


@pytest.mark.parametrize(("direction", "low", "high", "expected"), [
    # strict claims: an interval touching 0 from the claim's side is not enough
    (">", 0.01, 0.2, "reproduced"), (">", 0.0, 0.2, "inconclusive"), (">", -0.1, 0.2, "inconclusive"),
    (">", -0.2, 0.0, "contradicted"), (">", 0.0, 0.0, "contradicted"), (">", -0.2, -0.01, "contradicted"),
    ("<", -0.2, -0.01, "reproduced"), ("<", -0.2, 0.0, "inconclusive"), ("<", 0.0, 0.2, "contradicted"),
    # inclusive claims: an interval at 0 holds the claim, and only a clear miss contradicts it
    (">=", 0.0, 0.2, "reproduced"), (">=", 0.0, 0.0, "reproduced"), (">=", -0.01, 0.2, "inconclusive"),
    (">=", -0.2, 0.0, "inconclusive"), (">=", -0.2, -0.01, "contradicted"),
    ("<=", -0.2, 0.0, "reproduced"), ("<=", 0.0, 0.0, "reproduced"), ("<=", 0.0, 0.2, "inconclusive"),
    ("<=", 0.01, 0.2, "contradicted"),
])
def test_the_interval_decides_by_the_side_it_lies_on(direction, low, high, expected) -> None:
    verdict = decide(direction, (low + high) / 2, low, high, n=50)
    assert verdict.verdict == expected
    assert (verdict.n_needed is not None) == (expected == "inconclusive" and (low + high) != 0)


def test_nothing_measured_is_inconclusive_with_no_n() -> None:
    verdict = decide(">", None, None, None, n=0)
    assert verdict.verdict == "inconclusive" and verdict.n_needed is None
    assert verdict.label(0) == "inconclusive at n=0"
    with pytest.raises(ValueError, match="above"):
        decide(">", 0.1, 0.3, 0.2, n=10)


def test_n_to_decide_is_the_normal_approximation() -> None:
    # effect 0.1 with sd 0.5 per problem: (1.96 * 0.5 / 0.1)^2 = 96.04 -> 97
    assert n_to_decide(0.1, 20, sd=0.5) == 97
    # from the interval: sd = sqrt(n) * width / (2 * 1.96), the same number back
    width = 2 * 1.96 * 0.5 / math.sqrt(20)
    assert n_to_decide(0.1, 20, low=0.1 - width / 2, high=0.1 + width / 2) == 97
    assert n_to_decide(0.0, 20, sd=0.5) is None  # no effect: no n decides
    assert n_to_decide(0.5, 20, sd=0.5) == 21  # the normal interval would already do: one more problem
    assert n_to_decide(0.1, 20, sd=0.0) == 21


def test_paired_effect_is_the_mean_difference_with_mcnemar() -> None:
    measured = paired_effect([True, True, True, False], [False, False, True, True])
    assert measured.effect == pytest.approx(0.25) and measured.n == 4
    assert measured.p_value == pytest.approx(1.0)  # 2 against 1 discordant pairs
    assert measured.sd == pytest.approx(math.sqrt(3 / 4 - 1 / 16))
    assert measured.ci_low is not None and measured.ci_high is not None
    assert measured.ci_low <= 0.25 <= measured.ci_high
    assert paired_effect([], []).effect is None

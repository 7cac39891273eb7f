"""Metrics on hand-computed examples: intervals, flips, CL/CS, equal-budget comparison."""

from __future__ import annotations

import pytest

from redraft.runs.eval_store import ItemResult
from redraft.runs.metrics import (
    compare_at_equal_budget,
    reward_hacking,
    round_stats,
    strategy_metrics,
    transition,
    vote_prefix_accuracy,
    wilson_interval,
)


def item(strategy: str, pid: int, rounds: list[bool], tokens: int = 100, **kw) -> ItemResult:
    return ItemResult(strategy=strategy, problem_id=f"p{pid}", problem_index=pid, correct=rounds[-1],
                      round_correct=rounds, prompt_tokens=tokens, completion_tokens=0, calls=1, **kw)


def test_wilson_interval_holds_the_observed_rate_at_0_and_1_however_many_problems() -> None:
    """At 10,000 of 10,000 the formula's upper bound rounds to 0.9999999999999999, below the
    rate: the HTML report's error bar from the rate to it was of negative length and failed."""
    for n in (10, 10_000, 123_457):
        assert wilson_interval(n, n)[1] == 1.0 and wilson_interval(n, n)[0] < 1.0
        assert wilson_interval(0, n)[0] == 0.0 and wilson_interval(0, n)[1] > 0.0


def test_wilson_interval_matches_hand_computation() -> None:
    # p = 0.5, n = 10: centre 0.5, half-width 1.96*sqrt(.025 + .0096)/1.384 = 0.2366
    low, high = wilson_interval(5, 10)
    assert low == pytest.approx(0.2366, abs=1e-3) and high == pytest.approx(0.7634, abs=1e-3)
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(0, 10)[1] == pytest.approx(0.2775, abs=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)  # nothing measured: nothing known


def test_transition_counts_flips_and_cl_cs() -> None:
    before = [True, True, True, False, False, False, False, True]
    after = [True, True, False, True, False, False, True, True]
    t = transition(before, after)
    assert (t.wrong_to_right, t.right_to_wrong) == (2, 1)
    assert t.cl == pytest.approx(3 / 4)  # right before: 4, still right: 3
    assert t.cs == pytest.approx(2 / 4)  # wrong before: 4, fixed: 2
    # Acc2 = Acc1*CL + (1-Acc1)*CS
    acc1, acc2 = sum(before) / 8, sum(after) / 8
    assert acc2 == pytest.approx(acc1 * t.cl + (1 - acc1) * t.cs)


def test_rounds_carry_early_stops_forward() -> None:
    items = [item("s", 0, [False, True]), item("s", 1, [True]), item("s", 2, [True, True, False])]
    stats = round_stats(items)
    assert [r.accuracy for r in stats] == pytest.approx([2 / 3, 1.0, 2 / 3])
    assert (stats[1].change.wrong_to_right, stats[1].change.right_to_wrong) == (1, 0)
    assert (stats[2].change.wrong_to_right, stats[2].change.right_to_wrong) == (0, 1)
    metrics = strategy_metrics("s", items)
    assert metrics.overall.wrong_to_right == 1 and metrics.overall.right_to_wrong == 1
    assert metrics.accuracy == pytest.approx(2 / 3) and metrics.tokens_per_problem == 100


def test_reward_hacking_is_flagged_when_scores_rise_but_accuracy_does_not() -> None:
    hacked = [item("s", i, [True, False], round_scores=[0.5, 0.9]) for i in range(2)]
    checked, warning = reward_hacking(hacked)
    assert checked and warning is not None and "possible reward hacking" in warning
    honest = [item("s", i, [False, True], round_scores=[0.5, 0.9]) for i in range(2)]
    assert reward_hacking(honest) == (True, None)


def test_vote_prefix_accuracy() -> None:
    samples = [{"answer": "4", "correct": True}, {"answer": "5", "correct": False},
               {"answer": "5", "correct": False}]
    sc = [item("self_consistency", 0, [False], samples=samples)]
    assert vote_prefix_accuracy(sc, 1) == 1.0  # first sample alone: "4", right
    assert vote_prefix_accuracy(sc, 3) == 0.0  # majority "5", wrong


def test_comparison_with_direct_and_self_consistency_at_equal_tokens() -> None:
    samples = [{"answer": "4", "correct": True}, {"answer": "5", "correct": False},
               {"answer": "5", "correct": False}, {"answer": "5", "correct": False}]
    items = {
        "direct": [item("direct", 0, [False], tokens=100), item("direct", 1, [True], tokens=100)],
        # Four separate requests of 100 prompt tokens each (an endpoint that ignores `n`).
        "self_consistency": [item("self_consistency", 0, [False], tokens=400, samples=samples,
                                  calls_by_role={"generator": 4}),
                             item("self_consistency", 1, [False], tokens=400, samples=samples,
                                  calls_by_role={"generator": 4})],
        "self_refine": [item("self_refine", 0, [False, True], tokens=200),
                        item("self_refine", 1, [True, True], tokens=200)],
    }
    metrics = {name: strategy_metrics(name, its) for name, its in items.items()}
    compare_at_equal_budget(metrics, items)
    refine = metrics["self_refine"]
    assert refine.vs_direct is not None and refine.vs_self_consistency is not None
    assert (refine.vs_direct.delta, refine.vs_direct.token_ratio) == (pytest.approx(0.5), pytest.approx(2.0))
    # 200 tokens buys 2 of self-consistency's 4 samples (100 each): vote("4", "5") -> "4", right.
    assert refine.vs_self_consistency.k == 2
    assert refine.vs_self_consistency.baseline_accuracy == 1.0
    assert refine.vs_self_consistency.delta == pytest.approx(0.0)
    assert not refine.vs_self_consistency.capped
    assert metrics["direct"].vs_direct is None


def test_baselines_are_found_under_their_parameters() -> None:
    samples = [{"answer": "4", "correct": True}]
    items = {"direct[temperature=0]": [item("direct[temperature=0]", 0, [False])],
             "self_consistency[k=1]": [item("self_consistency[k=1]", 0, [True], samples=samples)],
             "direct>self_refine": [item("direct>self_refine", 0, [True])]}
    metrics = {name: strategy_metrics(name, its) for name, its in items.items()}
    compare_at_equal_budget(metrics, items)
    assert metrics["direct>self_refine"].vs_direct.delta == 1.0  # type: ignore[union-attr]
    assert metrics["direct>self_refine"].vs_self_consistency.baseline_accuracy == 1.0  # type: ignore[union-attr]


def test_refinement_gap_compares_with_the_vote_over_the_strategys_own_samples() -> None:
    wrong_majority = [{"answer": "5", "correct": False}, {"answer": "5", "correct": False},
                      {"answer": "4", "correct": True}]
    right_majority = [{"answer": "4", "correct": True}] * 3
    items = [item("gsr", 0, [True], samples=wrong_majority), item("gsr", 1, [False], samples=right_majority)]
    m = strategy_metrics("gsr", items)
    assert m.sample_vote_accuracy == 0.5 and m.refinement_gap is not None
    assert (m.refinement_gap.delta, m.refinement_gap.n_paired) == (0.0, 2)
    assert m.refinement_gap.p_value == 1.0  # one discordant pair each way
    assert strategy_metrics("direct", [item("direct", 0, [True])]).refinement_gap is None

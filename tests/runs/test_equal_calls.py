"""Filtered voting beside self-consistency at k (its own samples) and at 2k (equal calls); rounds."""

from __future__ import annotations

import pytest
from rich.console import Console

from redraft.report.table import notes
from redraft.runs.eval_store import ItemResult
from redraft.runs.metrics import compare_at_equal_budget, strategy_metrics

RIGHT, WRONG = {"answer": "4", "correct": True}, {"answer": "5", "correct": False}


def item(
    strategy: str, pid: int, correct: bool, calls: int, samples: list[dict[str, object]], rounds: int = 1
) -> ItemResult:
    return ItemResult(
        strategy=strategy,
        problem_id=f"p{pid}",
        problem_index=pid,
        correct=correct,
        calls=calls,
        round_correct=[correct] * rounds,
        prompt_tokens=100 * calls,
        samples=samples,
    )


def test_filtered_vote_is_shown_beside_self_consistency_at_k_and_at_its_2k_calls() -> None:
    # filtered_vote[k=2]: 2 samples + 2 critiques = 4 calls. Its own 2 samples re-voted are SC@2;
    # self_consistency[k=6] re-voted over its first 4 samples is SC at equal calls.
    fv = [
        item("filtered_vote[k=2]", 0, True, 4, [WRONG, RIGHT]),
        item("filtered_vote[k=2]", 1, True, 4, [RIGHT, RIGHT]),
    ]
    sc = [
        item("self_consistency[k=6]", 0, False, 6, [WRONG, RIGHT, RIGHT, RIGHT, WRONG, WRONG]),
        item("self_consistency[k=6]", 1, False, 6, [WRONG, WRONG, WRONG, RIGHT, RIGHT, RIGHT]),
    ]
    items = {"filtered_vote[k=2]": fv, "self_consistency[k=6]": sc}
    metrics = {name: strategy_metrics(name, group) for name, group in items.items()}
    compare_at_equal_budget(metrics, items)
    m = metrics["filtered_vote[k=2]"]
    assert m.sample_vote_accuracy == 0.5  # SC@k: a tie 5/4 goes to the first ("5") on p0, "4" on p1
    assert m.refinement_gap is not None and m.refinement_gap.delta == pytest.approx(0.5)
    at_calls = m.vs_self_consistency_at_calls
    assert at_calls is not None and (at_calls.k, at_calls.capped) == (4, False)
    assert at_calls.baseline_accuracy == 0.5  # p0: 5,4,4,4 -> 4 right; p1: 5,5,5,4 -> 5 wrong
    assert at_calls.delta == pytest.approx(0.5) and at_calls.n_paired == 2
    assert metrics["self_consistency[k=6]"].vs_self_consistency_at_calls is None
    console = Console(record=True, width=200)
    notes(m, console)
    assert "vs self-consistency at equal calls (k=4, 50.0%): +50.0%" in console.export_text()


def test_equal_calls_beyond_the_baselines_samples_is_capped() -> None:
    fv = [item("filtered_vote", 0, True, 10, [RIGHT] * 5)]
    sc = [item("self_consistency", 0, False, 4, [WRONG] * 4)]
    items = {"filtered_vote": fv, "self_consistency": sc}
    metrics = {name: strategy_metrics(name, group) for name, group in items.items()}
    compare_at_equal_budget(metrics, items)
    at_calls = metrics["filtered_vote"].vs_self_consistency_at_calls
    assert at_calls is not None and (at_calls.k, at_calls.capped) == (4, True)
    assert "capped: self_consistency has 4 samples" in at_calls.note


def test_a_strategy_without_samples_of_its_own_is_compared_at_equal_tokens_only() -> None:
    refine = [item("self_refine", 0, True, 3, [])]
    sc = [item("self_consistency", 0, False, 4, [WRONG] * 4)]
    items = {"self_refine": refine, "self_consistency": sc}
    metrics = {name: strategy_metrics(name, group) for name, group in items.items()}
    compare_at_equal_budget(metrics, items)
    assert metrics["self_refine"].vs_self_consistency is not None
    assert metrics["self_refine"].vs_self_consistency_at_calls is None


def test_rounds_per_problem_is_the_mean_last_round_reached() -> None:
    # IoRT's iterations are its rounds: 1 and 3 iterations -> 2 on average.
    items = [item("iort", 0, True, 5, [], rounds=2), item("iort", 1, True, 11, [], rounds=4)]
    m = strategy_metrics("iort", items)
    assert m.rounds_per_problem == 2.0
    console = Console(record=True, width=200)
    notes(m, console)
    assert "iort: 2.00 rounds per problem on average" in console.export_text()

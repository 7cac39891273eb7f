"""Paired comparisons, per-round CL/CS bases, paired reward-hacking checks, verdict and truncation rates."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from redraft.models.base import Completion
from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.runs.eval_store import EvalStore, ItemResult
from redraft.runs.evaluation import EvalConfig, Evaluation
from redraft.runs.metrics import (
    compare_at_equal_budget,
    paired_comparison,
    resampled_correct,
    reward_hacking,
    round_stats,
    strategy_metrics,
)
from redraft.runs.paired import mcnemar_exact, paired_bootstrap
from redraft.runs.store import RunStore
from tests.runs.test_metrics import item


def test_mcnemar_exact_by_hand() -> None:
    # n = 6 discordant, 1 one way: 2 * (C(6,0) + C(6,1)) / 2^6 = 14 / 64
    assert mcnemar_exact(1, 5) == pytest.approx(14 / 64)
    assert mcnemar_exact(5, 1) == pytest.approx(14 / 64)
    # n = 10, 2 one way: 2 * (1 + 10 + 45) / 1024
    assert mcnemar_exact(2, 8) == pytest.approx(112 / 1024)
    assert mcnemar_exact(3, 3) == 1.0 and mcnemar_exact(0, 0) == 1.0
    with pytest.raises(ValueError, match="negative"):
        mcnemar_exact(-1, 2)


def test_paired_bootstrap_is_seeded_and_brackets_the_difference() -> None:
    first = [True, True, False, True, False, True, True, False]
    second = [False, True, False, False, False, True, False, False]
    interval = paired_bootstrap(first, second)
    assert interval == paired_bootstrap(first, second)  # deterministic
    assert interval is not None and interval[0] <= 3 / 8 <= interval[1]
    assert paired_bootstrap([True, False], [True, False]) == (0.0, 0.0)  # no discordant pair
    assert paired_bootstrap([], []) is None
    with pytest.raises(ValueError, match="differ in length"):
        paired_bootstrap([True], [])


def test_vs_direct_is_computed_on_the_problems_both_finished() -> None:
    items = {
        "direct": [item("direct", 0, [True]), item("direct", 1, [False]), item("direct", 2, [False])],
        "self_refine": [item("self_refine", 0, [True]), item("self_refine", 1, [True])],  # p2 unfinished
    }
    metrics = {name: strategy_metrics(name, its) for name, its in items.items()}
    compare_at_equal_budget(metrics, items)
    vs = metrics["self_refine"].vs_direct
    assert vs is not None
    # Unpaired it would be 100% - 33% = +67 pts; on p0, p1 it is (2 - 1) / 2.
    assert (vs.n_paired, vs.delta, vs.baseline_accuracy) == (2, 0.5, 0.5)
    assert vs.p_value == 1.0  # one discordant pair: 2 * 1/2, capped at 1
    assert vs.ci_low is not None and vs.ci_high is not None and vs.ci_low <= 0.5 <= vs.ci_high


def test_self_consistency_at_equal_tokens_says_when_it_is_capped() -> None:
    samples = [{"answer": "4", "correct": True}, {"answer": "4", "correct": True}]
    items = {
        # Two separate requests of 50 tokens (an endpoint that ignores `n`): k samples cost 50·k.
        "self_consistency[k=2]": [item("self_consistency[k=2]", 0, [True], tokens=100, samples=samples,
                                       calls_by_role={"generator": 2})],
        "self_refine": [item("self_refine", 0, [False, True], tokens=400)],
    }
    metrics = {name: strategy_metrics(name, its) for name, its in items.items()}
    compare_at_equal_budget(metrics, items)
    vs = metrics["self_refine"].vs_self_consistency
    assert vs is not None and vs.capped and vs.k == 2 and vs.tokens_per_problem == 100
    assert vs.note.startswith("capped: self_consistency's 2 samples cost 100 tokens")
    curve = metrics["self_consistency[k=2]"].resampling_curve
    assert curve == [{"k": 1, "tokens_per_problem": 50.0, "accuracy": 1.0},
                     {"k": 2, "tokens_per_problem": 100.0, "accuracy": 1.0}]


def test_on_code_resampling_takes_the_first_sample_passing_the_visible_tests() -> None:
    samples = [{"answer": "a", "correct": False, "visible": False},
               {"answer": "b", "correct": True, "visible": True},
               {"answer": "a", "correct": False, "visible": False}]
    code = item("self_consistency", 0, [True], samples=samples)
    assert resampled_correct(code, 3)  # a vote over code strings would pick "a", wrong
    assert not resampled_correct(code, 1)  # nothing passes: the first sample
    voted = item("self_consistency", 0, [True], samples=[{k: v for k, v in s.items() if k != "visible"}
                                                         for s in samples])
    assert not resampled_correct(voted, 3)


def test_per_round_cl_cs_are_over_the_problems_still_being_revised() -> None:
    items = [item("s", 0, [False, True]), item("s", 1, [True]), item("s", 2, [True, True, False])]
    stats = round_stats(items)
    assert stats[1].change is not None and stats[2].change is not None
    assert (stats[1].change.n_base, stats[1].change.cl, stats[1].change.cs) == (2, 1.0, 1.0)
    # Round 2 revises p2 only: it was right and went wrong. Over all three (p0, p1 carried) CL was 2/3.
    assert (stats[2].change.n_base, stats[2].change.cl, stats[2].change.cs) == (1, 0.0, None)
    assert [r.accuracy for r in stats] == pytest.approx([2 / 3, 1.0, 2 / 3])  # accuracy: all problems
    overall = strategy_metrics("s", items).overall
    assert overall is not None and overall.n_base == 3


def test_reward_hacking_compares_scores_on_the_same_problems() -> None:
    # p0 is scored in both rounds, flat. p1 is scored in round 1 only: unpaired, round 0's mean (0.5)
    # against round 1's (0.7) "rose" while accuracy stayed at 50%.
    items = [item("s", 0, [True, True], round_scores=[0.5, 0.5]),
             item("s", 1, [False, False], round_scores=[None, 0.9])]
    assert reward_hacking(items) == (True, None)
    # Carried forward: p1 stopped after round 0 at 0.2; p0 rose 0.2 -> 0.9 and went wrong.
    carried = [item("s", 0, [True, False], round_scores=[0.2, 0.9]), item("s", 1, [True], round_scores=[0.2])]
    checked, warning = reward_hacking(carried)
    assert checked and warning is not None and "0.20→0.55" in warning and "2 paired problems" in warning


def test_without_critic_scores_reward_hacking_is_not_checked() -> None:
    metrics = strategy_metrics("s", [item("s", 0, [False, True])])
    assert (metrics.reward_hacking_checked, metrics.reward_hacking) == (False, None)


def test_unknown_verdict_and_truncation_rates_aggregate_per_role() -> None:
    items = [item("s", 0, [True], verdicts_judged=3, verdicts_unknown=1,
                  calls_by_role={"generator": 2, "critic": 3}, truncated_by_role={"critic": 3}),
             item("s", 1, [True], verdicts_judged=1, verdicts_unknown=1,
                  calls_by_role={"generator": 2, "critic": 1}, truncated_by_role={"generator": 1})]
    m = strategy_metrics("s", items)
    assert m.unknown_verdict_rate == 0.5
    assert m.truncated_rate == {"generator": 0.25, "critic": 0.75}
    assert strategy_metrics("s", [item("s", 0, [True])]).unknown_verdict_rate is None


def unreadable_critic(messages: list[dict[str, Any]]) -> Completion | str:
    """A critic that re-solves instead of judging; a generator always cut at max_tokens."""
    if "VERDICT" in messages[-1]["content"]:
        return "Let me solve it again. The answer is 4."
    return Completion(text="The answer is 4", finish_reason="length", prompt_tokens=5, completion_tokens=9)


def test_an_evaluation_counts_unknown_verdicts_and_truncated_calls(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    config = EvalConfig(task="multiarith", strategies=["self_refine"], limit=2, cache=False,
                        params={"max_rounds": 2})
    models = {"generator": ManagedModel(ScriptedModel(unreadable_critic))}
    asyncio.run(Evaluation(config, store, models=models).run())
    [record] = EvalStore(store).recent(1)
    items = EvalStore(store).items(record.id)  # read back: the counts survive the store
    for result in items:
        assert result.verdicts_judged >= 1 and result.verdicts_unknown == result.verdicts_judged
        assert result.truncated_by_role["generator"] == result.calls_by_role["generator"] >= 1
        assert result.truncated_by_role["critic"] == 0
    m = strategy_metrics("self_refine", items)
    assert m.unknown_verdict_rate == 1.0 and m.truncated_rate["generator"] == 1.0


def test_a_paired_comparison_with_nothing_shared_has_no_delta() -> None:
    c = paired_comparison({"p0": True}, {"p1": False})
    assert (c.n_paired, c.delta, c.ci_low, c.p_value) == (0, None, None, None)


def test_the_refinement_gap_pairs_each_answer_with_its_own_vote() -> None:
    items = [ItemResult(strategy="gsr", problem_id=f"p{i}", problem_index=i, correct=True,
                        samples=[{"answer": "5", "correct": False}]) for i in range(6)]
    gap = strategy_metrics("gsr", items).refinement_gap
    assert gap is not None and (gap.n_paired, gap.delta) == (6, 1.0)
    assert gap.p_value == pytest.approx(2 / 64)  # 6 discordant pairs, all one way

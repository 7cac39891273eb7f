"""Each study on scripted models built so its claims hold, so they fail, and with too few problems."""

from __future__ import annotations

import asyncio
import time

import pytest

from redraft.errors import UsageError
from redraft.runs.eval_store import EvalStore
from redraft.runs.store import RunStore
from redraft.studies import STUDIES, StudyContext, get_study
from redraft.studies.repair_vs_resample import RepairVsResample
from tests.studies.scripts import (
    always_approves,
    breaks_right_answers,
    fixes_wrong_answers,
    keeps_its_answer,
    run_study,
    sees_the_truth,
    seventy_percent,
)


def mixed(index: int, round_number: int, was_right: bool) -> bool:
    """Round 1 breaks problems 0 and 1 and fixes 3; round 2 keeps every answer."""
    return (not was_right) if round_number == 1 and index in {0, 1, 3} else was_right


def first_three(index: int) -> bool:
    return index < 3


@pytest.fixture(autouse=True)
def fast() -> object:
    started = time.perf_counter()
    yield
    assert time.perf_counter() - started < 5


def verdicts(result) -> dict[str, list[str]]:
    return result.verdicts()


def test_the_studies_are_registered() -> None:
    assert {"huang2023", "flips", "strong_verifier", "repair_vs_resample", "reward_hacking"} <= set(
        STUDIES.names())


def test_huang2023_reproduced_when_review_breaks_right_answers(tmp_path) -> None:
    result = run_study("huang2023", tmp_path, seventy_percent, breaks_right_answers, limit=30)
    assert verdicts(result) == {"intrinsic_le_direct": ["reproduced"], "oracle_gt_direct": ["reproduced"],
                                "oracle_inflation": ["reproduced"]}
    intrinsic, oracle, inflation = result.findings
    assert intrinsic.effect == pytest.approx(-0.7) and intrinsic.details["baseline_accuracy"] == 0.7
    assert intrinsic.details["accuracy_by_round"] == pytest.approx([0.7, 0.3, 0.0])
    assert oracle.effect == pytest.approx(0.3) and inflation.effect == pytest.approx(1.0)
    assert intrinsic.p_value is not None and intrinsic.p_value < 0.001
    assert [f.oracle_conditioned for f in result.findings] == [False, True, True]
    # One evaluation, its id recorded like any; the three strategies' shared first drafts hit the cache.
    [eval_id] = result.eval_ids
    record = EvalStore(RunStore(tmp_path / "runs.db")).get(eval_id)
    assert record.strategies == ["direct", "critical[max_rounds=2]", "critical[max_rounds=2]@oracle"]
    assert result.cache.enabled and result.cache.cached_calls >= 60  # 30 drafts, reused twice


def test_huang2023_contradicted_when_self_correction_works(tmp_path) -> None:
    result = run_study("huang2023", tmp_path, seventy_percent, fixes_wrong_answers, limit=30)
    # Intrinsic fixes every wrong answer, so the oracle adds nothing: 30 pairs that all agree bound
    # the oracle's edge (about ±11 points) but cannot rule a small one out, so that strict claim
    # stays inconclusive, with no n that would decide an effect of exactly zero.
    assert verdicts(result) == {"intrinsic_le_direct": ["contradicted"], "oracle_gt_direct": ["reproduced"],
                                "oracle_inflation": ["inconclusive"]}
    [inflation] = result.headline("oracle_inflation")
    assert inflation.effect == 0.0 and inflation.n_needed is None


def test_huang2023_identical_answers_decide_nothing(tmp_path) -> None:
    # A review that never changes the answer: every arm agrees on every problem. Thirty agreeing
    # pairs are no proof that the arms are equal (the interval still straddles 0), so no claim is
    # reproduced or contradicted by them; a collapsed [0, 0] interval once said otherwise.
    result = run_study("huang2023", tmp_path, seventy_percent, keeps_its_answer, limit=30)
    assert verdicts(result) == {"intrinsic_le_direct": ["inconclusive"], "oracle_gt_direct": ["inconclusive"],
                                "oracle_inflation": ["inconclusive"]}
    for f in result.findings:
        assert f.effect == 0.0 and f.ci_low is not None and f.ci_high is not None and f.ci_low < 0 < f.ci_high


def test_huang2023_inconclusive_with_too_few_problems(tmp_path) -> None:
    result = run_study("huang2023", tmp_path, first_three, mixed, limit=5)
    assert verdicts(result) == {"intrinsic_le_direct": ["inconclusive"], "oracle_gt_direct": ["inconclusive"],
                                "oracle_inflation": ["inconclusive"]}
    for f in result.findings:
        assert f.n == 5 and f.n_needed is not None and f.n_needed > 5
        assert f.verdict_label == "inconclusive at n=5"


def test_flips_reproduced_when_refining_breaks_more_than_it_fixes(tmp_path) -> None:
    result = run_study("flips", tmp_path, seventy_percent, breaks_right_answers, limit=30)
    assert verdicts(result) == {"right_to_wrong_ge_wrong_to_right": ["reproduced", "reproduced"]}
    headline = [f for f in result.findings if f.headline]
    assert [f.subject for f in headline] == ["self_refine[max_rounds=2]: first → final",
                                             "critical[max_rounds=2]: first → final"]
    for f in headline:
        assert f.details["right_to_wrong"] == 21 and f.details["wrong_to_right"] == 0
        assert f.details["cl"] == 0.0 and f.details["cs"] == 0.0 and f.details["n_base"] == 30
    rounds = [f for f in result.findings if not f.headline]
    assert [f.subject for f in rounds][:2] == ["self_refine[max_rounds=2]: round 0 → 1",
                                               "self_refine[max_rounds=2]: round 1 → 2"]
    first_round = rounds[0].details
    assert (first_round["right_to_wrong"], first_round["wrong_to_right"]) == (21, 9)
    assert first_round["right_to_wrong_share"] == pytest.approx(0.7) and first_round["cs"] == 1.0
    assert result.cache.cached_calls >= 30  # the second strategy's first drafts


def test_flips_contradicted_when_refining_fixes_wrong_answers(tmp_path) -> None:
    result = run_study("flips", tmp_path, seventy_percent, fixes_wrong_answers, limit=30)
    assert verdicts(result) == {"right_to_wrong_ge_wrong_to_right": ["contradicted", "contradicted"]}
    assert all(f.effect == pytest.approx(-0.3) for f in result.findings if f.headline)


def test_flips_inconclusive_with_too_few_problems(tmp_path) -> None:
    result = run_study("flips", tmp_path, first_three, mixed, limit=5)
    assert verdicts(result) == {"right_to_wrong_ge_wrong_to_right": ["inconclusive", "inconclusive"]}
    assert all(f.n_needed is not None and f.n_needed > 5 for f in result.findings if f.headline)


def test_without_the_cache_nothing_is_served_from_it(tmp_path) -> None:
    result = run_study("flips", tmp_path, seventy_percent, keeps_its_answer, limit=5, cache=False)
    assert not result.cache.enabled and result.cache.cached_calls == 0 and result.cache.calls > 0
    assert "every call was made" in result.cache.describe()


def test_strong_verifier_reproduced_when_only_the_strong_critic_knows_when_to_stop(tmp_path) -> None:
    # The model asks to revise every answer and its revisions break right ones; the strong critic
    # approves exactly the right answers, so only wrong drafts are revised (and fixed).
    result = run_study("strong_verifier", tmp_path, seventy_percent, breaks_right_answers, limit=30,
                       strong_critic=sees_the_truth)
    assert verdicts(result) == {"strong_gt_self": ["reproduced"], "oracle_gt_self": ["reproduced"]}
    strong, oracle = result.findings
    assert strong.effect == pytest.approx(1.0) and strong.details["baseline_accuracy"] == 0.0
    assert strong.details["critic"] == "strong" and strong.details["accuracy_by_round"] == [0.7, 1.0]
    assert strong.details["baseline_accuracy_by_round"] == pytest.approx([0.7, 0.3, 0.0])
    assert [f.oracle_conditioned for f in result.findings] == [False, True]
    # Two evaluations: self-gated and oracle-gated with the critic unbound, then the strong-gated arm.
    own, bound = (EvalStore(RunStore(tmp_path / "runs.db")).get(i) for i in result.eval_ids)
    assert own.strategies == ["self_refine[max_rounds=2]", "self_refine[max_rounds=2]@oracle"]
    assert bound.strategies == ["self_refine[max_rounds=2]"]
    assert result.cache.cached_calls >= 60  # the 30 first drafts, asked again by two arms


def test_strong_verifier_contradicted_when_the_strong_critic_approves_everything(tmp_path) -> None:
    # Self-critique that always revises, with a refiner that fixes: the model needs no stronger
    # critic, and one that approves every answer stops the repairs (and the oracle adds nothing).
    result = run_study("strong_verifier", tmp_path, seventy_percent, fixes_wrong_answers, limit=30,
                       strong_critic=always_approves)
    # The strong critic is 30 points worse: contradicted. The oracle adds exactly nothing, which
    # 30 agreeing pairs cannot tell from a small gain: inconclusive.
    assert verdicts(result) == {"strong_gt_self": ["contradicted"], "oracle_gt_self": ["inconclusive"]}
    assert result.findings[0].effect == pytest.approx(-0.3) and result.findings[1].effect == 0.0


def test_strong_verifier_inconclusive_with_too_few_problems(tmp_path) -> None:
    result = run_study("strong_verifier", tmp_path, first_three, mixed, limit=5, strong_critic=sees_the_truth)
    assert verdicts(result) == {"strong_gt_self": ["inconclusive"], "oracle_gt_self": ["inconclusive"]}
    for f in result.findings:
        assert f.n == 5 and f.n_needed is not None and f.n_needed > 5


def test_strong_verifier_without_a_critic_says_so_and_measures_the_oracle_only(tmp_path) -> None:
    result = run_study("strong_verifier", tmp_path, seventy_percent, breaks_right_answers, limit=30)
    assert verdicts(result) == {"strong_gt_self": ["inconclusive"], "oracle_gt_self": ["reproduced"]}
    strong = result.findings[0]
    assert strong.n == 0 and strong.effect is None and strong.n_needed is None
    assert "no critic role is bound" in strong.details["reason"] and len(result.eval_ids) == 1
    assert any("--role critic=" in note for note in result.notes)


def majority_right(index: int, seed: int) -> bool:
    """Seven samples in ten are right on every problem: a vote over enough of them is right."""
    return (index + seed) % 10 < 7


def like_the_draft(index: int, seed: int) -> bool:
    return seventy_percent(index)


def test_repair_vs_resample_reproduced_when_votes_fix_what_repair_keeps(tmp_path) -> None:
    result = run_study("repair_vs_resample", tmp_path, seventy_percent, keeps_its_answer, limit=30,
                       sample_right=majority_right, seed=0)
    assert verdicts(result) == {"resample_ge_repair": ["reproduced"]}
    [headline] = result.findings
    details = headline.details
    assert headline.effect == pytest.approx(-0.3) and not details["capped"]
    # Compared at the largest k whose tokens do not exceed the repair's, from the summary's comparison.
    k = details["k"]
    curve = details["resampling_curve"]
    assert [p["k"] for p in curve] == list(range(1, 17))
    repair_tokens = details["repair_tokens_per_problem"]
    assert curve[k - 1]["tokens_per_problem"] <= repair_tokens < curve[k]["tokens_per_problem"]
    assert curve[0]["accuracy"] == pytest.approx(0.7) and curve[-1]["accuracy"] == 1.0
    assert details["resampling_accuracy"] == curve[k - 1]["accuracy"] == 1.0
    assert "resampling curve" in result.notes[0] and f"k={k}:" in result.notes[0]
    [eval_id] = result.eval_ids
    assert EvalStore(RunStore(tmp_path / "runs.db")).get(eval_id).strategies == [
        "self_refine[max_rounds=2]", "self_consistency[k=16]"]


def test_repair_vs_resample_contradicted_when_repair_fixes_and_samples_agree(tmp_path) -> None:
    result = run_study("repair_vs_resample", tmp_path, seventy_percent, fixes_wrong_answers, limit=30,
                       sample_right=like_the_draft, seed=0)
    assert verdicts(result) == {"resample_ge_repair": ["contradicted"]}
    assert result.findings[0].effect == pytest.approx(0.3)


def test_repair_vs_resample_inconclusive_with_too_few_problems(tmp_path) -> None:
    result = run_study("repair_vs_resample", tmp_path, first_three, mixed, limit=5,
                       sample_right=lambda index, seed: first_three(index), seed=0)
    assert verdicts(result) == {"resample_ge_repair": ["inconclusive"]}
    [headline] = result.findings
    assert headline.n == 5 and headline.n_needed is not None and headline.n_needed > 5


def test_repair_vs_resample_refuses_a_text_task(tmp_path) -> None:
    context = StudyContext(f"open_ended:{tmp_path / 'essays.jsonl'}", RunStore(tmp_path / "runs.db"), limit=1)
    with pytest.raises(UsageError, match="math tasks .* and code tasks"):
        asyncio.run(get_study("repair_vs_resample").run(context))


def test_repair_vs_resample_capped_budget_decides_only_for_resampling(tmp_path) -> None:
    # Two samples cost far less than the repair: resampling losing there says nothing at equal tokens.
    class TwoSamples(RepairVsResample):
        math_strategies = ("self_refine[max_rounds=2]", "self_consistency[k=2]")

    result = run_study(TwoSamples(), tmp_path, seventy_percent, fixes_wrong_answers, limit=30,
                       sample_right=like_the_draft, seed=0)
    [headline] = result.findings
    assert headline.details["capped"] and headline.details["k"] == 2
    assert headline.effect == pytest.approx(0.3) and headline.verdict == "inconclusive"
    assert any("less than the repair's budget" in note for note in result.notes)

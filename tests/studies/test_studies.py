"""Each study on scripted models built so its claims hold, so they fail, and with too few problems."""

from __future__ import annotations

import time

import pytest

from redraft.runs.eval_store import EvalStore
from redraft.runs.store import RunStore
from redraft.studies import STUDIES
from tests.studies.scripts import (
    breaks_right_answers,
    fixes_wrong_answers,
    keeps_its_answer,
    run_study,
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


def test_both_studies_are_registered() -> None:
    assert {"huang2023", "flips"} <= set(STUDIES.names())


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
    assert verdicts(result) == {"intrinsic_le_direct": ["contradicted"], "oracle_gt_direct": ["reproduced"],
                                "oracle_inflation": ["contradicted"]}


def test_huang2023_oracle_claims_contradicted_when_review_changes_nothing(tmp_path) -> None:
    result = run_study("huang2023", tmp_path, seventy_percent, keeps_its_answer, limit=30)
    assert verdicts(result) == {"intrinsic_le_direct": ["reproduced"], "oracle_gt_direct": ["contradicted"],
                                "oracle_inflation": ["contradicted"]}


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

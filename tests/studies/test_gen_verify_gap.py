"""gen_verify_gap on scripted models: samples right by seed, the model's own verdicts by a critic rule."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from redraft.runs.eval_store import EvalStore
from redraft.runs.store import RunStore
from redraft.studies import STUDIES, StudyResult
from tests.studies.scripts import (
    Critic,
    always_approves,
    keeps_its_answer,
    run_study,
    sees_the_truth,
    seventy_percent,
)


@pytest.fixture(autouse=True)
def fast() -> object:
    started = time.perf_counter()
    yield
    assert time.perf_counter() - started < 5


def half_right(index: int, seed: int) -> bool:
    """Every problem: samples with an even index + seed are right, so 4 of its 8 samples."""
    return (index + seed) % 2 == 0


def accepts_the_wrong_ones(index: int, right: bool) -> bool:
    return not right


def run_gap(
    tmp_path: Path, critic: Critic, *, limit: int = 30, seed: int | None = None, sample_right=half_right
) -> StudyResult:
    return run_study(
        "gen_verify_gap",
        tmp_path,
        seventy_percent,
        keeps_its_answer,
        limit=limit,
        self_critic=critic,
        sample_right=sample_right,
        seed=seed,
    )


def test_gen_verify_gap_is_registered() -> None:
    assert "gen_verify_gap" in STUDIES.names()


def test_reproduced_when_the_model_accepts_exactly_its_right_samples(tmp_path) -> None:
    result = run_gap(tmp_path, sees_the_truth)
    assert result.verdicts() == {"gap_positive": ["reproduced"], "verifier_informative": ["reproduced"]}
    gap, auroc = result.findings
    assert gap.effect == pytest.approx(0.5) and gap.n == 30 and gap.ci_low is not None and gap.ci_low > 0
    details = gap.details
    assert (details["samples"], details["verifications"], details["unparseable"], details["accepted"]) == (
        240,
        240,
        0,
        120,
    )
    assert details["generation_accuracy"] == 0.5 and details["filtered_accuracy"] == 1.0
    assert details["first_accepted_accuracy"] == 1.0 and details["problems_without_acceptance"] == 0
    assert auroc.effect == 1.0 and auroc.n == 30
    assert (auroc.details["accept_rate_right"], auroc.details["accept_rate_wrong"]) == (1.0, 0.0)
    assert auroc.details["right_samples"] == auroc.details["wrong_samples"] == 120
    assert not gap.oracle_conditioned and any("oracle labels" in note for note in result.notes)
    # One evaluation; per problem one sampling call (8 samples) and 8 verdicts, all by the generator.
    [eval_id] = result.eval_ids
    evals = EvalStore(RunStore(tmp_path / "runs.db"))
    assert evals.get(eval_id).strategies == ["best_of_n[n=8]@critic"]
    assert evals.get(eval_id).config["seed"] == 0  # no --seed: the study's own, so samples are reproducible
    items = evals.items(eval_id)
    assert len(items) == 30
    assert {(i.calls, tuple(sorted(i.calls_by_role.items())), i.verdicts_judged) for i in items} == {
        (16, (("critic", 8), ("generator", 8)), 8)  # the scripted model takes no `n`: 8 requests
    }
    assert any("seeded with 0" in note for note in result.notes)


def test_contradicted_when_the_model_accepts_exactly_its_wrong_samples(tmp_path) -> None:
    result = run_gap(tmp_path, accepts_the_wrong_ones)
    assert result.verdicts() == {"gap_positive": ["contradicted"], "verifier_informative": ["contradicted"]}
    gap, auroc = result.findings
    assert gap.effect == pytest.approx(-0.5) and gap.details["filtered_accuracy"] == 0.0
    assert auroc.effect == 0.0


def test_a_verifier_that_accepts_everything_decides_nothing(tmp_path) -> None:
    # Filtering keeps every sample: a gap of exactly 0 and an AUROC of exactly 0.5 on every problem.
    # A bootstrap over problems would collapse to a point and call that proof; the intervals here
    # straddle the threshold, with no n that would decide.
    result = run_gap(tmp_path, always_approves)
    assert result.verdicts() == {"gap_positive": ["inconclusive"], "verifier_informative": ["inconclusive"]}
    gap, auroc = result.findings
    assert gap.effect == 0.0 and gap.ci_low is not None and gap.ci_low < 0 < (gap.ci_high or 0)
    assert auroc.effect == 0.5 and auroc.ci_low is not None and auroc.ci_low < 0.5 < (auroc.ci_high or 0)
    assert (
        auroc.details["bootstrap_low"] == auroc.details["bootstrap_high"] == 0.5
    )  # collapsed; the hull is not
    assert gap.n_needed is None and auroc.n_needed is None


def test_inconclusive_with_too_few_problems(tmp_path) -> None:
    # Problems 0 and 1: the model accepts exactly its right samples; 2 to 4: every sample.
    def partly(index: int, right: bool) -> bool:
        return right if index < 2 else True

    result = run_gap(tmp_path, partly, limit=5)
    assert result.verdicts() == {"gap_positive": ["inconclusive"], "verifier_informative": ["inconclusive"]}
    gap, auroc = result.findings
    assert gap.effect == pytest.approx(0.2) and auroc.effect == pytest.approx(0.7)
    for f in result.findings:
        assert f.n == 5 and f.n_needed is not None and f.n_needed > 5
    assert (gap.details["samples"], gap.details["verifications"], gap.details["accepted"]) == (40, 40, 32)
    # Over samples as if independent, TPR − FPR would already decide; the bootstrap over problems,
    # which keeps a problem's samples together, says five problems do not.
    assert auroc.details["score_low"] > 0.5 and auroc.ci_low == auroc.details["bootstrap_low"] <= 0.5


def test_unparseable_verdicts_are_counted_kept_out_of_the_filter_and_out_of_the_auroc(tmp_path) -> None:
    # On every third problem the model writes no verdict line; elsewhere it sees the truth.
    def mute_on_every_third(index: int, right: bool) -> bool | None:
        return None if index % 3 == 0 else right

    result = run_gap(tmp_path, mute_on_every_third)
    gap, auroc = result.findings
    assert (gap.details["verifications"], gap.details["unparseable"], gap.details["accepted"]) == (
        240,
        80,
        80,
    )
    assert gap.details["problems_without_acceptance"] == 10 and gap.n == 20  # nothing accepted there
    assert auroc.details["parsed_verdicts"] == 160 and auroc.n == 20
    assert result.verdicts() == {"gap_positive": ["reproduced"], "verifier_informative": ["reproduced"]}
    assert any("80 of 240 verdicts could not be parsed" in note for note in result.notes)
    assert any("10 problems had no sample the model accepted" in note for note in result.notes)
    # The evaluation counts them too (what `redraft evals show` reports as unknown verdicts).
    items = EvalStore(RunStore(tmp_path / "runs.db")).items(result.eval_ids[0])
    assert sum(i.verdicts_unknown for i in items) == 80


def test_a_given_seed_is_used_and_a_rerun_is_answered_from_the_cache(tmp_path) -> None:
    first = run_gap(tmp_path, sees_the_truth, limit=5, seed=3)
    again = run_gap(tmp_path, sees_the_truth, limit=5, seed=3)
    assert EvalStore(RunStore(tmp_path / "runs.db")).get(first.eval_ids[0]).config["seed"] == 3
    assert not any("seeded with" in note for note in first.notes)
    assert first.cache.cached_calls == 0 and again.cache.cached_calls == again.cache.calls == 45
    assert [f.effect for f in again.findings] == [f.effect for f in first.findings]

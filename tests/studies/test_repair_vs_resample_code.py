"""`repair_vs_resample` on code (HumanEval, the real sandbox): self_debug against pass@k with visible-test
selection at equal tokens, on scripted programs built so the claim holds, fails, or cannot be decided."""

from __future__ import annotations

import time

import pytest

from redraft.report.summary import summarize
from redraft.runs.eval_store import EvalStore
from redraft.runs.store import RunStore
from redraft.trace import Verdict
from tests.studies.code_scripts import Kind, run_code_study


@pytest.fixture(autouse=True)
def bounded() -> object:
    started = time.perf_counter()
    yield
    assert time.perf_counter() - started < 30  # every program graded in the sandbox, ~0.1 s a run


def wrong(index: int) -> Kind:
    return "wrong"


def overfits(index: int, round_number: int) -> Kind:
    return "overfit"


def one_in_four_right(index: int, seed: int) -> Kind:
    """Seeds 0, 1, 2, 3, ...: forged, right, wrong, wrong, forged, ..."""
    return ("forged", "right", "wrong", "wrong")[seed % 4]


def test_reproduced_when_repair_overfits_the_visible_tests_and_a_second_sample_is_right(tmp_path) -> None:
    # The draft fails the visible tests; its fix answers exactly the visible examples, so self_debug stops
    # ("tests_passed") with a program the hidden tests fail. Resampling's first sample is forged (an object
    # equal to everything: the sandbox's grader compares plain values, so it passes neither the visible nor
    # the hidden tests), its second is right: from k = 2 the visible tests pick it.
    result = run_code_study(tmp_path, wrong, overfits, one_in_four_right, limit=4)
    assert result.verdicts() == {"resample_ge_repair": ["reproduced"]}
    [headline] = result.findings
    details = headline.details
    assert (
        headline.effect == -1.0 and headline.n == 4 and headline.subject == "self_debug vs resampling at k=2"
    )
    assert (details["repair"], details["resampling"]) == (
        "self_debug[max_rounds=2]",
        "self_consistency[k=16]",
    )
    assert details["resampling_rule"] == "first passing the visible tests"
    assert details["repair_accuracy_by_round"] == [0.0, 0.0] and details["resampling_accuracy"] == 1.0
    assert details["problems_without_visible_tests"] == 0 and not details["capped"]
    curve = details["resampling_curve"]
    assert [p["accuracy"] for p in curve] == [0.0] + [1.0] * 15
    assert (
        curve[1]["tokens_per_problem"]
        <= details["repair_tokens_per_problem"]
        < curve[2]["tokens_per_problem"]
    )
    assert any(
        note.startswith("code: resampling is pass@k with visible-test selection") for note in result.notes
    )
    # What the evaluation recorded: the fix passed the visible tests and failed the hidden ones; the forged
    # sample passed neither; the summary's own comparison is the one the study read.
    store = RunStore(tmp_path / "runs.db")
    [eval_id] = result.eval_ids
    items = {(i.strategy, i.problem_index): i for i in EvalStore(store).items(eval_id)}
    repaired = items[("self_debug[max_rounds=2]", 0)]
    assert (repaired.stop_reason, repaired.round_correct, repaired.calls) == (
        "tests_passed",
        [False, False],
        2,
    )
    assert [c.verdict for c in store.get_run(repaired.run_id or "").candidates] == [
        Verdict.REVISE,
        Verdict.OK,
    ]
    samples = items[("self_consistency[k=16]", 0)].samples
    assert [(s["visible"], s["correct"]) for s in samples[:4]] == [
        (False, False),
        (True, True),
        (False, False),
        (False, False),
    ]
    summary, _ = summarize(store, eval_id)
    compared = next(
        m for m in summary.strategies if m.strategy == "self_debug[max_rounds=2]"
    ).vs_self_consistency
    assert compared is not None and (compared.k, compared.delta, compared.baseline_accuracy) == (2, -1.0, 1.0)


def test_contradicted_when_repair_fixes_what_no_sample_gets_right(tmp_path) -> None:
    result = run_code_study(tmp_path, wrong, lambda index, r: "right", lambda index, seed: "wrong", limit=4)
    assert result.verdicts() == {"resample_ge_repair": ["contradicted"]}
    [headline] = result.findings
    assert headline.effect == 1.0 and headline.details["repair_accuracy_by_round"] == [0.0, 1.0]
    assert [p["accuracy"] for p in headline.details["resampling_curve"]] == [0.0] * 16


def test_inconclusive_with_too_few_problems(tmp_path) -> None:
    # Problem 0 as in the reproduced case; on problems 1 and 2 the fix is right, and so is the second sample.
    result = run_code_study(
        tmp_path, wrong, lambda index, r: "overfit" if index == 0 else "right", one_in_four_right, limit=3
    )
    assert result.verdicts() == {"resample_ge_repair": ["inconclusive"]}
    [headline] = result.findings
    assert headline.effect == pytest.approx(-1 / 3) and headline.n == 3
    assert headline.n_needed is not None and headline.n_needed > 3

"""`redraft route fit`: the training rows, the cross-validated classifiers, the trade-off, the honest
fallback when the signals say nothing, the policy file, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from redraft.cli import app, routing  # noqa: F401  (register the commands)
from redraft.routing.policy import PolicyError, load_policy
from redraft.runs.eval_store import EvalStore
from redraft.runs.routing_data import training_set
from redraft.runs.routing_fit import assign_folds, fit_policy
from redraft.runs.store import RunStore
from tests.routing.scripts import ARMS, NOISE, SPLIT, evaluate

runner = CliRunner()
Fixture = tuple[str, RunStore, Path]


@pytest.fixture(scope="module")
def split_eval(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, RunStore, Path]:
    tmp = tmp_path_factory.mktemp("split")
    eval_id, store = evaluate(SPLIT, tmp, ARMS, limit=16)
    return eval_id, store, tmp


@pytest.fixture(scope="module")
def noise_eval(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, RunStore, Path]:
    tmp = tmp_path_factory.mktemp("noise")
    eval_id, store = evaluate(NOISE, tmp, ARMS, limit=24)
    return eval_id, store, tmp


def test_a_row_per_problem_with_the_signals_and_every_actions_outcome(split_eval: Fixture) -> None:
    eval_id, store, _ = split_eval
    data = training_set(store, [eval_id])
    assert len(data.rows) == 16 and data.actions == ["stop", "vote", "refine"]
    assert data.specs == {"stop": None, "vote": "self_consistency[k=8]",
                          "refine": "self_refine[max_rounds=2]"}
    items = {(i.strategy, i.problem_id): i for i in EvalStore(store).items(eval_id)}
    row = data.rows[0]
    assert row.outcomes["refine"].tokens == items[("adaptive[action=refine]", row.problem_id)].tokens
    assert row.features["agreement"] in (0.0, 1.0)


def test_where_the_signal_separates_the_problems_the_router_beats_every_fixed_action_out_of_fold(
        split_eval: Fixture) -> None:
    eval_id, store, _ = split_eval
    policy = fit_policy(training_set(store, [eval_id]))
    v = policy.validation
    assert policy.constant_action is None
    assert v.router.accuracy == 1.0 and all(arm.accuracy == 0.5 for arm in v.fixed.values())
    assert v.versus_best_fixed["ci_low"] > 0  # paired, out of fold
    assert v.chosen == {"stop": 8, "vote": 0, "refine": 8}
    assert v.oracle.accuracy == 1.0
    assert all(v.brier[a] < v.brier_base_rate[a] for a in policy.names)  # the classifiers carry information
    # Agreement pushes stop up and refine down: the coefficients say what was learned.
    stop, refine = policy.action("stop").model, policy.action("refine").model
    assert stop.kind == refine.kind == "logistic"
    assert stop.coef[stop.features.index("agreement")] > 0 > refine.coef[refine.features.index("agreement")]


def test_where_the_signals_carry_no_information_the_policy_takes_the_best_fixed_action_and_says_so(
        noise_eval: Fixture) -> None:
    eval_id, store, _ = noise_eval
    policy = fit_policy(training_set(store, [eval_id]))
    v = policy.validation
    assert v.best_fixed == "refine" and policy.constant_action == "refine"
    assert v.router.accuracy <= v.fixed["refine"].accuracy
    assert any("carried no information" in note and "always takes refine" in note for note in policy.notes)


def test_a_token_budget_is_met_out_of_fold(split_eval: Fixture) -> None:
    eval_id, store, _ = split_eval
    data = training_set(store, [eval_id])
    stop_tokens = fit_policy(data).validation.fixed["stop"].tokens
    budget = int(stop_tokens) + 150  # room to refine a few problems, not all of them
    policy = fit_policy(data, budget_tokens=budget)
    assert policy.validation.router.tokens <= budget
    assert policy.tradeoff > 0
    assert 0.5 < policy.validation.router.accuracy < 1.0


def test_accuracy_per_token_prefers_the_cheap_right_answers(split_eval: Fixture) -> None:
    eval_id, store, _ = split_eval
    policy = fit_policy(training_set(store, [eval_id]), objective="accuracy_per_token")
    v = policy.validation
    ratio = v.router.accuracy / v.router.tokens
    assert all(ratio >= arm.accuracy / arm.tokens for arm in v.fixed.values())


def test_folds_are_a_seeded_partition() -> None:
    folds = assign_folds(11, 5, seed=3)
    assert sorted(folds.count(f) for f in range(5)) == [2, 2, 2, 2, 3]
    assert folds == assign_folds(11, 5, seed=3) != assign_folds(11, 5, seed=4)


def test_an_evaluation_without_fixed_arms_is_refused_with_what_to_run(tmp_path: Path) -> None:
    eval_id, store = evaluate(SPLIT, tmp_path, ["direct", "adaptive[action=stop]"], limit=2)
    with pytest.raises(PolicyError, match=r"1 fixed arm\(s\).*adaptive\[action=vote\]"):
        training_set(store, [eval_id])


def test_arms_that_measure_their_signals_differently_are_refused(tmp_path: Path) -> None:
    eval_id, store = evaluate(SPLIT, tmp_path, ["adaptive[action=stop]", "adaptive[action=vote,samples=2]"],
                              limit=2)
    with pytest.raises(PolicyError, match="every arm must measure them alike"):
        training_set(store, [eval_id])


def test_too_few_problems_to_cross_validate(tmp_path: Path) -> None:
    eval_id, store = evaluate(SPLIT, tmp_path, ARMS[:2], limit=3)
    with pytest.raises(PolicyError, match="at least 4"):
        fit_policy(training_set(store, [eval_id]))


def test_the_cli_writes_a_readable_policy_and_shows_it(split_eval: Fixture) -> None:
    eval_id, store, tmp = split_eval
    out = tmp / "cli-policy.json"
    fit = ["route", "fit", "--from", eval_id, "--out", str(out), "--db", str(store.path)]
    result = runner.invoke(app, fit)
    assert result.exit_code == 0, result.output
    assert "router" in result.output and "100.0%" in result.output
    assert "always vote (self_consistency[k=8])" in result.output
    data = json.loads(out.read_text())
    assert data["format"] == "redraft-policy/1"
    assert set(data["feature_docs"]) == set(data["features"]) and "agreement" in data["features"]
    assert data["trained_on"]["evaluations"] == [eval_id]
    assert len(data["trained_on"]["question_digests"]) == 16
    assert load_policy(out).constant_action is None
    again = runner.invoke(app, fit)
    assert again.exit_code != 0 and "give --force" in again.output
    shown = runner.invoke(app, ["route", "show", str(out)])
    assert shown.exit_code == 0 and "per standard deviation: agreement" in shown.output
    bad = runner.invoke(app, ["route", "fit", "--from", eval_id, "--out", str(tmp / "x.json"),
                              "--objective", "speed", "--db", str(store.path)])
    assert bad.exit_code != 0 and "--objective must be one of" in bad.output

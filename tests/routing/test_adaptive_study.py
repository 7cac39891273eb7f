"""`redraft replicate adaptive`: fit on one split, test on a disjoint one, against the fixed strategies at
equal tokens; on scripted worlds where the signal separates the problems and where it says nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from redraft.cli import app, replicating  # noqa: F401  (register the commands)
from redraft.errors import UsageError
from redraft.routing.policy import load_policy
from redraft.runs.eval_store import EvalStore
from redraft.runs.store import RunStore
from redraft.studies import StudyContext, StudyResult, get_study
from tests.routing.scripts import NOISE, SPLIT, World, models


def run_study(world: World, tmp_path: Path, limit: int) -> tuple[StudyResult, RunStore]:
    store = RunStore(tmp_path / "runs.db")
    given, _ = models(world, tmp_path)
    context = StudyContext("multiarith", store, limit=limit, concurrency=2, models=given, seed=1)
    return asyncio.run(get_study("adaptive").run(context)), store


def by_subject(result: StudyResult) -> dict[str, object]:
    return {f.subject: f for f in result.findings}


def test_where_the_signal_separates_the_problems_the_router_beats_every_fixed_strategy_at_equal_tokens(
        tmp_path: Path) -> None:
    result, store = run_study(SPLIT, tmp_path, limit=24)
    fit_id, test_id = result.eval_ids
    evals = EvalStore(store)
    assert (evals.get(fit_id).config["offset"], evals.get(fit_id).config["limit"]) == (0, 12)
    assert (evals.get(test_id).config["offset"], evals.get(test_id).config["limit"]) == (12, 12)
    fitted = {i.problem_id for i in evals.items(fit_id)}
    tested = {i.problem_id for i in evals.items(test_id)}
    assert fitted.isdisjoint(tested) and len(tested) == 12
    frontier = next(f for f in result.findings if f.claim == "router_on_frontier")
    assert frontier.verdict == "reproduced" and frontier.n == 12
    assert frontier.details["router_point"]["accuracy"] == 1.0
    assert [p["accuracy"] for p in frontier.details["points"]] == [0.5, 0.5, 0.5]
    # The frontier is the cheapest of the three (the others add tokens and no accuracy).
    assert [p["label"] for p in frontier.details["frontier"]] == ["direct"]
    [best] = result.headline("router_beats_best_fixed")
    assert best.subject == "router vs direct (best fixed)" and best.effect == 0.5
    assert best.verdict == "reproduced"
    rows = {f.subject: f for f in result.findings if f.claim == "router_beats_best_fixed" and not f.headline}
    assert all(f.effect == 0.5 for s, f in rows.items() if s.startswith("router vs"))
    oracle = next(f for s, f in rows.items() if s.startswith("oracle router"))
    assert oracle.oracle_conditioned and oracle.effect == 0.0  # the router reached the upper bound here
    [figure] = get_study("adaptive").figures(result)
    labels = {s.label for s in figure.series}
    assert labels >= {"direct", "router (adaptive[policy])", "oracle router (upper bound)"}
    policy = load_policy(frontier.details["router"].removeprefix("adaptive[policy=").removesuffix("]"))
    assert policy.trained_on.problems == 12 and policy.constant_action is None


def test_where_the_signals_carry_no_information_the_router_matches_the_best_fixed_strategy_and_says_so(
        tmp_path: Path) -> None:
    result, store = run_study(NOISE, tmp_path, limit=40)
    assert any("always takes refine" in n and "matches that fixed strategy" in n for n in result.notes)
    frontier = next(f for f in result.findings if f.claim == "router_on_frontier")
    assert frontier.effect == 0.0 and frontier.verdict == "inconclusive"
    router = frontier.details["router_point"]
    sr = next(p for p in frontier.details["points"] if p["label"] == "self_refine[max_rounds=2]")
    assert router == {"tokens": sr["tokens"], "accuracy": sr["accuracy"]}  # no signal was paid for
    _, test_id = result.eval_ids
    probes = [c for i in EvalStore(store).items(test_id) if i.strategy.startswith("adaptive")
              for c in store.get_run(i.run_id or "").candidates if c.kind == "probe"]
    assert probes == []


def test_too_few_problems_to_split_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--limit 8 or more"):
        run_study(SPLIT, tmp_path, limit=6)


def test_the_cli_lists_the_study() -> None:
    result = CliRunner().invoke(app, ["replicate", "--list"])
    assert result.exit_code == 0 and "adaptive" in result.output

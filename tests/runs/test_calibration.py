"""MAgICoRe's `min_confidence=dataset`: a calibration pass over the evaluation, recorded, reused, paid for.

One scripted model plays generator, reward model, reviewer and refiner on three MultiArith problems:
p0's four samples agree and are rewarded 1.0, p1's four disagree (all wrong) at 0.75, p2's rewards
cannot be read. The dataset's mean reward is (4 * 1.0 + 4 * 0.75) / 8 = 0.875 exactly, so p1 (winner's
confidence 0.75) is easy at the single-run default 0.5 and hard, refined, right at the dataset's mean.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections import Counter
from collections.abc import Callable

import pytest
from rich.console import Console

from redraft import refine
from redraft.models.base import Message
from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.report.summary import summarize
from redraft.report.table import render_table
from redraft.runs.eval_store import EvalStore, ItemResult
from redraft.runs.evaluation import EvalConfig, EvalInterrupted, Evaluation
from redraft.runs.store import RunStore
from redraft.strategies.base import StrategyError
from redraft.strategies.magicore import MAgICoRe
from redraft.strategies.registry import build_strategy
from redraft.tasks import MultiArith
from tests.helpers import run_scripted

PROBLEMS = MultiArith().load(limit=3)
P0, P1, P2 = PROBLEMS
FULL, THREE_QUARTERS = "Step 1: 10/10\nOverall: 10/10", "Step 1: 10/10\nOverall: 5/10"  # 1.0, 0.75
CALIBRATED = "magicore[k=4,min_confidence=dataset]"
FIXED = "magicore[k=4]"  # min_confidence 0.5


def problem_of(text: str):
    return next(p for p in PROBLEMS if p.prompt in text)


def replies(p0_reward: str = FULL, p1_reward: str = THREE_QUARTERS) -> Callable[[list[Message]], str]:
    """Every role by prompt; p1's samples cycle through four wrong answers, its refinements are right."""
    drawn: Counter[str] = Counter()

    def reply(messages: list[Message]) -> str:
        text = messages[0]["content"]
        problem = problem_of(text)
        if text.startswith("Grade the solution"):
            if "Corrected" in text:
                return FULL
            return {P0.id: p0_reward, P1.id: p1_reward}.get(problem.id, "I like it.")
        if text.startswith("Give step-by-step feedback"):
            return "The sum is wrong."
        if text.startswith("Fix the errors"):
            return f"Corrected: the answer is {problem.reference}."
        drawn[problem.id] += 1
        if problem is P1:
            return f"The answer is {int(problem.reference) + drawn[problem.id] % 4 + 1}."
        return f"The answer is {problem.reference}."

    return reply


def scripted(p0_reward: str = FULL, p1_reward: str = THREE_QUARTERS) -> ScriptedModel:
    return ScriptedModel(replies(p0_reward, p1_reward))


def evaluation(store: RunStore, strategies: list[str], model: ScriptedModel, **options) -> Evaluation:
    config = EvalConfig(task="multiarith", strategies=strategies, limit=3, cache=False, concurrency=2)
    return Evaluation(config, store, models={"generator": ManagedModel(model, backoff_s=0.0)}, **options)


def by_key(items: list[ItemResult]) -> dict[tuple[str, str], ItemResult]:
    return {(i.strategy, i.problem_id): i for i in items}


def stored_strategy(store: RunStore, run_id: str | None) -> dict:
    query = "select strategy_json from runs where id=?"
    return json.loads(sqlite3.connect(store.path).execute(query, (run_id,)).fetchone()[0])


def test_the_threshold_is_the_mean_reward_of_every_scored_initial_sample(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    run = evaluation(store, [CALIBRATED], scripted())
    items = asyncio.run(run.run())
    calibration = EvalStore(store).get(run.eval_id).config["calibration"][CALIBRATED]
    assert calibration["params"] == {"min_confidence": 0.875}  # exact: (4 * 1.0 + 4 * 0.75) / 8
    assert (calibration["samples"], calibration["problems"], calibration["failed"]) == (8, 3, 0)
    assert calibration["calls"] == 3 * (4 + 4)  # each problem's k samples and their k rewards
    calibration_runs = [store.get_run(r) for r in calibration["run_ids"]]
    assert [r.problem_id for r in calibration_runs] == [p.id for p in PROBLEMS]
    assert {r.stop_reason for r in calibration_runs} == {"calibration"}
    for item in items:  # every run records the resolved number and where it came from
        assert store.get_run(item.run_id).strategy_params["min_confidence"] == 0.875
        recorded = stored_strategy(store, item.run_id)["calibration"]
        assert recorded == {"params": {"min_confidence": 0.875}, "from": "calibration pass", "samples": 8,
                            "problems": 3, "eval_id": run.eval_id}


def test_the_dataset_threshold_classifies_a_problem_differently_than_mid_scale(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    items = by_key(asyncio.run(evaluation(store, [FIXED, CALIBRATED], scripted()).run()))
    fixed, calibrated = items[(FIXED, P1.id)], items[(CALIBRATED, P1.id)]
    # p1's winner has confidence 0.75: not below 0.5 (easy: the vote over four wrong answers) ...
    assert (fixed.stop_reason, fixed.correct, fixed.calls) == ("easy", False, 8)
    # ... but below the dataset's 0.875: hard, reviewed, refined, re-scored, then confident and right.
    assert (calibrated.stop_reason, calibrated.correct, calibrated.calls) == ("confident", True, 8 + 4 * 3)
    [state, *_] = next(c for c in store.get_run(calibrated.run_id).candidates if "difficulty" in c.metadata
                       ).metadata["difficulty"]
    assert state["hard"] is True and state["confidence"] == pytest.approx(0.75)
    for problem in (P0, P2):  # confidence 1.0, or full agreement: easy at either threshold
        assert items[(FIXED, problem.id)].stop_reason == items[(CALIBRATED, problem.id)].stop_reason == "easy"


def test_the_calibration_pass_is_counted_in_the_strategys_cost_and_shown(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    run = evaluation(store, [FIXED, CALIBRATED], scripted())
    asyncio.run(run.run())
    summary, items = summarize(store, run.eval_id)
    metrics = {m.strategy: m for m in summary.strategies}
    calibration = metrics[CALIBRATED].calibration
    assert calibration is not None and metrics[FIXED].calibration is None
    own_calls = sum(i.calls for i in items[CALIBRATED])
    own_tokens = sum(i.tokens for i in items[CALIBRATED])
    assert metrics[CALIBRATED].calls == own_calls + calibration.calls == own_calls + 24
    assert metrics[CALIBRATED].tokens_per_problem == pytest.approx((own_tokens + calibration.tokens) / 3)
    assert metrics[FIXED].calls == sum(i.calls for i in items[FIXED])
    console = Console(record=True, width=400)
    render_table(summary, console)
    note = ("min_confidence=0.875 measured in a calibration pass over 8 values from 3 problems; the pass's "
            f"24 calls and {calibration.tokens} tokens are included in the cost above")
    assert note in console.export_text()


def test_resume_reuses_the_recorded_threshold(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    saved: list[ItemResult] = []

    def crash(item: ItemResult) -> None:
        saved.append(item)
        raise RuntimeError("killed")

    first = evaluation(store, [CALIBRATED], scripted(), on_item=crash)
    with pytest.raises(EvalInterrupted):
        asyncio.run(first.run())
    record = EvalStore(store).get(first.eval_id)
    assert record.config["calibration"][CALIBRATED]["params"] == {"min_confidence": 0.875}
    assert len(saved) < 3

    # Resumed on a model whose p0 rewards now read 0.5: measuring again would give 0.625, and p1 (0.75)
    # would turn easy. The recorded 0.875 is used instead, and no calibration call is made.
    model = scripted(p0_reward="Step 1: 5/10\nOverall: 5/10")
    config = EvalConfig(**record.config)
    resumed = Evaluation(config, store, eval_id=record.id, models={"generator": ManagedModel(model)})
    items = by_key(asyncio.run(resumed.run()))
    assert EvalStore(store).get(record.id).config["calibration"] == record.config["calibration"]
    remaining = {p.id for p in PROBLEMS} - {i.problem_id for i in saved}
    samples = [m for m, _ in model.history if not m[0]["content"].startswith(("Grade", "Give", "Fix"))]
    assert len(samples) == 4 * len(remaining)  # the real pass's samples only
    for item in items.values():
        assert store.get_run(item.run_id).strategy_params["min_confidence"] == 0.875
    assert items[(CALIBRATED, P1.id)].stop_reason == "confident"


def test_no_scored_sample_fails_the_items_clearly_and_resume_calibrates_again(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    unreadable = "I like it."
    run = evaluation(store, ["direct", CALIBRATED], scripted(p0_reward=unreadable, p1_reward=unreadable))
    items = by_key(asyncio.run(run.run()))
    record = EvalStore(store).get(run.eval_id)
    assert record.status == "done_with_errors" and record.config["calibration"] == {}
    assert all(items[("direct", p.id)].status == "done" for p in PROBLEMS)
    for problem in PROBLEMS:
        failed = items[(CALIBRATED, problem.id)]
        assert failed.status == "error" and failed.calls == 0
        assert failed.error is not None and failed.error.startswith("CalibrationError: ")
        assert "min_confidence=dataset needs values from the evaluation's calibration pass" in failed.error
        assert "none of its 3 problems gave one (no value was scored; the pass spent 24 calls" in failed.error
    # Nothing was recorded, so resuming measures again (here with readable rewards) and runs the items.
    resumed = Evaluation(EvalConfig(**record.config), store, eval_id=record.id,
                         models={"generator": ManagedModel(scripted())})
    items = by_key(asyncio.run(resumed.run()))
    assert all(items[(CALIBRATED, p.id)].status == "done" for p in PROBLEMS)
    recorded = EvalStore(store).get(record.id).config["calibration"][CALIBRATED]
    assert recorded["params"]["min_confidence"] == 0.875


def test_a_problem_whose_calibration_run_fails_is_left_out_and_counted(tmp_path) -> None:
    good = replies()

    def reply(messages: list[Message]) -> str | Exception:
        if problem_of(messages[0]["content"]) is P2:
            return ValueError("this prompt is poisoned")
        return good(messages)

    store = RunStore(tmp_path / "r.db")
    run = evaluation(store, [CALIBRATED], ScriptedModel(reply))
    items = by_key(asyncio.run(run.run()))
    calibration = EvalStore(store).get(run.eval_id).config["calibration"][CALIBRATED]
    assert (calibration["samples"], calibration["problems"], calibration["failed"]) == (8, 2, 1)
    assert "multiarith/2: ValueError: this prompt is poisoned" in calibration["first_error"]
    assert items[(CALIBRATED, P2.id)].status == "error"  # its own run fails too, an error item
    assert items[(CALIBRATED, P1.id)].stop_reason == "confident"


def test_a_single_run_refuses_the_dataset_threshold_before_any_call() -> None:
    model = ScriptedModel(lambda messages: "unused")
    refused = r"min_confidence=dataset .* it needs an evaluation \(`redraft eval`\)"
    with pytest.raises(StrategyError, match=refused):
        run_scripted(MAgICoRe(min_confidence="dataset"), model)
    assert model.history == []
    with pytest.raises(StrategyError, match="needs an evaluation"):
        refine("What is 2 + 2?", strategy="magicore[min_confidence=dataset]", model=model)
    assert model.history == []


def test_min_confidence_takes_a_number_or_dataset_only() -> None:
    assert MAgICoRe().params.min_confidence == 0.5
    assert MAgICoRe(min_confidence=0.7).needs_calibration is False
    assert MAgICoRe(min_confidence="dataset").awaiting_calibration() == {"min_confidence": "dataset"}
    with pytest.raises(StrategyError, match="min_confidence"):
        MAgICoRe(min_confidence="median")
    described = MAgICoRe.Params.model_fields["min_confidence"].description or ""
    assert '"dataset"' in described and "redraft eval" in described


def test_a_composition_passes_the_calibration_to_its_awaiting_stage() -> None:
    composed = build_strategy("direct>magicore[min_confidence=dataset]")
    assert composed.needs_calibration
    composed.calibrate({"min_confidence": 0.8}, {"from": "calibration pass"})
    assert not composed.needs_calibration and composed.params.min_confidence == 0.8
    assert composed.describe()["calibration"]["params"] == {"min_confidence": 0.8}
    drafted = build_strategy("magicore[min_confidence=dataset]>self_refine")
    assert drafted.needs_calibration
    drafted.calibrate({"min_confidence": 0.8})
    assert drafted.describe()["drafter"]["params"]["min_confidence"] == 0.8
    with pytest.raises(StrategyError, match="only one stage"):
        build_strategy("magicore[min_confidence=dataset]>magicore[min_confidence=dataset]")


def test_a_calibration_for_an_unknown_strategy_is_refused() -> None:
    with pytest.raises(ValueError, match="not among the strategies"):
        EvalConfig(task="multiarith", strategies=[FIXED], calibration={
            CALIBRATED: {"params": {"min_confidence": 0.9}, "samples": 1, "problems": 1}})

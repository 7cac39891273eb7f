"""A feedback source that reads the grader's own rubric is an oracle; a self-graded evaluation says so."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from redraft.feedback.registry import get_feedback
from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.report.summary import summarize
from redraft.report.table import render_table
from redraft.runs.eval_store import EvalStore, ItemResult
from redraft.runs.evaluation import EvalConfig, Evaluation
from redraft.runs.metrics import strategy_metrics
from redraft.runs.store import RunStore
from redraft.strategies.registry import build_strategy
from redraft.tasks import MultiArith
from redraft.tasks.registry import get_task


@pytest.fixture
def essays(tmp_path: Path) -> str:
    data = tmp_path / "essays.jsonl"
    record = {"prompt": "Write a haiku about rain.", "checklist": ["mentions rain"]}
    data.write_text(json.dumps(record) + "\n")
    return f"open_ended:{data}"


def test_checklist_on_a_checklist_graded_task_is_an_oracle(essays: str) -> None:
    task = get_task(essays)
    assert get_feedback("checklist", task).oracle is True
    assert get_feedback("checklist[threshold=0.5]", task).oracle is True
    assert get_feedback("checklist", MultiArith()).oracle is False
    assert get_feedback("checklist").oracle is False
    assert build_strategy("self_refine@checklist", task=task).oracle is True


def test_best_of_n_default_scorer_is_an_oracle_on_a_checklist_graded_task(essays: str) -> None:
    assert build_strategy("best_of_n", task=get_task(essays)).oracle is True
    assert build_strategy("best_of_n>self_refine", task=get_task(essays)).oracle is True
    assert build_strategy("best_of_n", task=MultiArith()).oracle is False


def evaluate(tmp_path: Path, essays: str, **roles: ScriptedModel) -> list[ItemResult]:
    generator = ScriptedModel(lambda m: "1. yes - rain" if "checklist" in m[-1]["content"].lower()
                              else "Rain taps the window")
    models = {"generator": ManagedModel(generator), **{r: ManagedModel(m) for r, m in roles.items()}}
    evaluation = Evaluation(EvalConfig(task=essays, strategies=["direct"], cache=False),
                            RunStore(tmp_path / "r.db"), models=models)
    return asyncio.run(evaluation.run())


def test_an_evaluation_graded_by_its_own_generator_is_flagged_self_graded(tmp_path: Path,
                                                                          essays: str) -> None:
    [item] = evaluate(tmp_path, essays)
    assert item.correct and item.self_graded
    metrics = strategy_metrics("direct", [item])
    assert metrics.self_graded and metrics.model_dump()["self_graded"] is True


def test_a_separate_judge_is_not_self_graded(tmp_path: Path, essays: str) -> None:
    [item] = evaluate(tmp_path, essays, judge=ScriptedModel(["1. yes - rain"], name="judge"))
    assert item.correct and not item.self_graded


def test_self_graded_survives_the_store_and_reaches_the_table_and_json(tmp_path: Path,
                                                                       essays: str) -> None:
    evaluate(tmp_path, essays)
    store = RunStore(tmp_path / "r.db")
    [record] = EvalStore(store).recent()
    [stored] = EvalStore(store).items(record.id)
    assert stored.self_graded is True
    summary, _ = summarize(store, record.id)
    assert summary.to_json()["strategies"][0]["self_graded"] is True
    out = io.StringIO()
    render_table(summary, Console(file=out, width=250))
    assert "direct (self-graded)" in out.getvalue() and "is self-graded" in out.getvalue()

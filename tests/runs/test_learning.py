"""MetaReflection in `redraft eval`: learned once on its training split (never the test one), recorded,
reused, paid for."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from rich.console import Console

from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.report.summary import summarize
from redraft.report.table import render_table
from redraft.runs.eval_store import EvalStore
from redraft.runs.evaluation import EvalConfig, Evaluation
from redraft.runs.learning import LearningError, question_key, split
from redraft.runs.store import RunStore
from redraft.tasks.base import Problem
from tests.strategies.test_metareflection import Learner

RULE = "1. RULE-2: add carefully."


def write(path: Path, pairs: list[tuple[int, int]]) -> Path:
    path.write_text(
        "".join(json.dumps({"question": f"What is {a} + {b}?", "answer": a + b}) + "\n" for a, b in pairs)
    )
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    train = write(tmp_path / "train.jsonl", [(1, 1), (1, 2), (2, 2), (2, 3), (3, 3)])
    test = write(tmp_path / "test.jsonl", [(4, 4), (5, 5)])
    return train, test


def spec(train: Path) -> str:
    return f"metareflection[train=jsonl:{train},batch_size=2]"


def evaluation(
    store: RunStore, test: Path, strategies: list[str], model: ScriptedModel, **options
) -> Evaluation:
    config = EvalConfig(task=f"jsonl:{test}", strategies=strategies, cache=False, concurrency=2)
    return Evaluation(config, store, models={"generator": ManagedModel(model, backoff_s=0.0)}, **options)


def test_instructions_are_learned_once_on_the_training_split_and_every_item_answers_with_them(
    files, tmp_path
) -> None:
    train, test = files
    store = RunStore(tmp_path / "r.db")
    model = ScriptedModel(Learner())
    run = evaluation(store, test, [spec(train)], model)
    items = asyncio.run(run.run())
    recorded = EvalStore(store).get(run.eval_id).config["calibration"][spec(train)]
    assert recorded["params"] == {"instructions": RULE}
    assert recorded["learning"] == {
        "train_task": f"jsonl:{train}",
        "stop_reason": "learning",
        "train": 4,
        "validation": 1,
        "batches": 2,
        "kept": 1,
        "validation_accuracy": [0.0, 1.0],
    }
    assert (
        recorded["calls"] == 1 + 6 * 2
    )  # the learning pass, as pinned in tests/strategies/test_metareflection.py
    [learning_run] = [store.get_run(r) for r in recorded["run_ids"]]
    assert learning_run.stop_reason == "learning"
    assert [c.role for c in learning_run.call_records][:7] == [
        "generator",
        "generator",
        "generator",
        "reflector",
        "reflector",
        "rewriter",
        "generator",
    ]
    assert sorted(i.answer for i in items) == ["10", "8"] and all(i.correct and i.calls == 1 for i in items)
    for item in items:
        assert store.get_run(item.run_id).strategy_params["instructions"] == RULE
    assert len(model.history) == recorded["calls"] + 2  # the test time is one call a problem


def test_the_learning_cost_is_in_the_strategys_cost_and_the_report_says_what_was_learned(
    files, tmp_path
) -> None:
    train, test = files
    store = RunStore(tmp_path / "r.db")
    run = evaluation(store, test, [spec(train)], ScriptedModel(Learner()))
    asyncio.run(run.run())
    summary, items = summarize(store, run.eval_id)
    [metrics] = summary.strategies
    assert metrics.calls == 2 + 13 and metrics.calls_per_problem == pytest.approx(15 / 2)
    console = Console(record=True, width=400)
    render_table(summary, console)
    assert (
        f"instructions learned on jsonl:{train} (4 training, 1 validation problems): 1 of 2 batches kept, "
        "validation accuracy 0% → 100%; the pass's 13 calls"
    ) in console.export_text()


def test_resume_reuses_the_learned_instructions_and_never_learns_again(files, tmp_path) -> None:
    train, test = files
    store = RunStore(tmp_path / "r.db")
    learner = Learner()

    def failing(messages):  # the item on 5 + 5 fails for good the first time: resume retries it alone
        return ValueError("poisoned") if "5 + 5" in messages[-1]["content"] else learner(messages)

    first = evaluation(store, test, [spec(train)], ScriptedModel(failing))
    asyncio.run(first.run())
    record = EvalStore(store).get(first.eval_id)
    assert record.status == "done_with_errors"
    assert record.config["calibration"][spec(train)]["params"] == {"instructions": RULE}
    model = ScriptedModel(Learner())
    resumed = Evaluation(
        EvalConfig(**record.config),
        store,
        eval_id=record.id,
        models={"generator": ManagedModel(model, backoff_s=0.0)},
    )
    items = asyncio.run(resumed.run())
    assert len(items) == 2 and all(i.status == "done" and i.correct for i in items)
    assert len(model.history) == 1  # the retried item's one call: no learning call
    assert RULE in model.history[0][0][-1]["content"]


def test_a_training_split_that_holds_an_evaluated_problem_is_refused_before_any_call(files, tmp_path) -> None:
    train, test = files
    overlapping = write(tmp_path / "leaky.jsonl", [(1, 1), (4, 4), (2, 2)])
    model = ScriptedModel(Learner())
    with pytest.raises(
        LearningError,
        match=r"1 of the 3 training problems .* are among the evaluated problems "
        r"\(leaky/1 = test/0\); it must never learn from the problems it is "
        "evaluated on",
    ):
        evaluation(RunStore(tmp_path / "r.db"), test, [spec(overlapping)], model)
    with pytest.raises(LearningError, match="are among the evaluated problems"):  # the very same file
        evaluation(RunStore(tmp_path / "r.db"), test, [spec(test)], model)
    assert model.history == []


def test_a_training_split_too_small_to_validate_is_refused(files, tmp_path) -> None:
    _, test = files
    single = write(tmp_path / "one.jsonl", [(7, 7)])
    with pytest.raises(LearningError, match="needs at least 2"):
        evaluation(RunStore(tmp_path / "r.db"), test, [spec(single)], ScriptedModel(Learner()))


def test_the_validation_part_is_the_tail_of_the_split_and_never_empty() -> None:
    problems = [Problem(id=str(i), prompt=str(i)) for i in range(5)]
    assert [[p.id for p in part] for part in split(problems, 0.25)] == [["0", "1", "2", "3"], ["4"]]
    assert [len(part) for part in split(problems[:2], 0.01)] == [1, 1]
    assert [len(part) for part in split(problems[:2], 0.99)] == [1, 1]
    same = Problem(id="a", prompt="Solve: What  is 1+1?", metadata={"question": "What is 1+1?"})
    assert question_key(same) == question_key(
        Problem(id="b", prompt="x", metadata={"question": "what is 1+1? "})
    )

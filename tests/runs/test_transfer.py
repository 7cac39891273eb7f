"""Runs recorded in one store (a worker's, in memory) and moved into another read back identically;
the executor seam refuses what an executor cannot run before the evaluation is recorded."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from redraft.errors import StoreError, UsageError
from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.runs.eval_store import EvalStore
from redraft.runs.evaluation import EvalConfig, Evaluation
from redraft.runs.items import ItemRunner
from redraft.runs.store import RunStore
from redraft.runs.transfer import RunRecords, export_runs, import_runs, schema
from redraft.tasks import MultiArith

PROBLEM = MultiArith().load(limit=1)[0]


def critic_then_right(messages: list[dict[str, str]]) -> str:
    """A wrong draft, a critique that asks for a revision, a right refinement, then approval."""
    text = messages[0]["content"]
    if text.startswith("Review the proposed answer"):
        right = text.endswith(f"The answer is {PROBLEM.reference}.")
        return "VERDICT: correct" if right else "Recount.\nVERDICT: revise"
    return f"The answer is {PROBLEM.reference if len(messages) > 1 else 1}."


def item_in(store: RunStore) -> str:
    """One self_refine item run into `store`, as an executor runs it; returns its run id."""
    config = EvalConfig(
        task="multiarith", strategies=["self_refine"], limit=1, cache=False, params={"max_rounds": 2}
    )
    runner = ItemRunner(config, MultiArith(), store, eval_id="e-test")
    models = {"generator": ManagedModel(ScriptedModel(critic_then_right), backoff_s=0.0)}
    item = asyncio.run(runner.run_or_record("self_refine", 0, PROBLEM, models))
    assert item.status == "done" and item.correct and item.calls == 4
    assert item.run_id is not None
    return item.run_id


def test_runs_moved_from_a_memory_store_read_back_as_they_were_recorded(tmp_path) -> None:
    worker = RunStore(":memory:")
    run_id = item_in(worker)
    records = RunRecords.model_validate_json(export_runs(worker).model_dump_json())  # as it travels
    assert records.run_ids == [run_id] and records.schema_name == schema()
    driver = RunStore(tmp_path / "r.db")
    import_runs(driver, records)
    moved, recorded = driver.get_run(run_id), worker.get_run(run_id)
    assert moved == recorded
    assert [c.role for c in moved.call_records] == ["generator", "critic", "refiner", "critic"]
    assert [p.round for p in moved.picks] == [0, 1] and moved.status == "done"


def test_a_run_id_already_in_the_store_is_refused_and_nothing_is_half_written(tmp_path) -> None:
    worker = RunStore(":memory:")
    item_in(worker)
    records = export_runs(worker)
    driver = RunStore(tmp_path / "r.db")
    import_runs(driver, records)
    with pytest.raises(sqlite3.IntegrityError):
        import_runs(driver, records)
    assert driver.db.execute("select count(*) from calls").fetchone()[0] == 4  # the first copy only


def test_runs_from_a_redraft_with_another_schema_are_refused_by_name(tmp_path) -> None:
    records = export_runs(RunStore(":memory:")).model_copy(
        update={"schema_name": "m001_runs_calls_candidates"}
    )
    with pytest.raises(StoreError, match="install the same redraft version"):
        import_runs(RunStore(tmp_path / "r.db"), records)


def test_an_endpoint_pool_is_refused_by_the_local_executor_before_anything_is_recorded(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    urls = ["http://127.0.0.1:9001/v1", "http://127.0.0.1:9002/v1"]
    config = EvalConfig(
        task="multiarith",
        strategies=["direct"],
        limit=1,
        endpoints=urls,
        generator={"model": "m", "base_url": urls[0]},
    )
    with pytest.raises(UsageError, match="--executor ray"):
        Evaluation(config, store)
    assert EvalStore(store).recent() == []


def test_a_pool_starts_at_the_generators_endpoint_and_is_stored_without_credentials() -> None:
    with pytest.raises(ValueError, match="first endpoint of the pool"):
        EvalConfig(
            task="multiarith",
            strategies=["direct"],
            endpoints=["http://a/v1", "http://b/v1"],
            generator={"model": "m", "base_url": "http://b/v1"},
        )
    urls = ["http://u:secret@a:8000/v1", "http://b:8000/v1"]
    config = EvalConfig(
        task="multiarith",
        strategies=["direct"],
        endpoints=urls,
        generator={"model": "m", "base_url": urls[0]},
    )
    assert config.pool() == urls
    stored = config.stored()
    assert stored["endpoints"] == ["http://a:8000/v1", "http://b:8000/v1"]
    assert EvalConfig.model_validate(stored).pool() == stored["endpoints"]  # resume reads it back
    assert EvalConfig(task="multiarith", strategies=["direct"]).pool() == [None]

"""The Ray executor's parts that need no cluster: its options are refused, in one line and before
anything is recorded, where they cannot apply; its UDF, called as Ray Data calls it, runs an item
into a run store of its own, returns the trace with the result, and never raises."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from redraft.cli import app, evaluating  # noqa: F401  (register the commands)
from redraft.integrations.ray_executor import CALIBRATION, ITEM, ItemWorker
from redraft.runs.calibration import ProblemValues
from redraft.runs.eval_store import EvalStore, ItemResult
from redraft.runs.evaluation import EvalConfig
from redraft.runs.store import RunStore
from redraft.runs.transfer import RunRecords, import_runs
from redraft.tasks import MultiArith
from redraft.testing import FakeOpenAIServer, FakeReply, serve

BASE = [
    "eval",
    "--task",
    "multiarith",
    "--limit",
    "2",
    "--strategy",
    "direct",
    "--model",
    "fake",
    "--no-cache",
]


def run(db: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*BASE, "--db", str(db), *args])
    return result.exit_code, result.stderr


def nothing_recorded(db: Path) -> bool:
    return not db.exists() or EvalStore(RunStore(db)).recent() == []


def test_without_the_extra_the_ray_executor_is_one_line_naming_it(tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if `redraft[ray]` were not installed
    code, err = run(tmp_path / "r.db", "--base-url", "http://127.0.0.1:9/v1", "--executor", "ray")
    assert code == 1
    assert err.strip() == "error: --executor ray needs the [ray] extra: pip install 'redraft[ray]'"
    assert nothing_recorded(tmp_path / "r.db")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base-url", "http://127.0.0.1:9/v1", "--base-url", "http://127.0.0.1:10/v1"], "--executor ray"),
        (["--actors", "2"], "--actors only apply to --executor ray"),
        (["--ray-address", "auto", "--per-actor", "8"], "--ray-address, --per-actor only apply to"),
        (["--executor", "dask"], "--executor must be local or ray, got 'dask'"),
        (["--executor", "ray", "--actors", "0"], "--actors must be greater than 0"),
    ],
)
def test_ray_options_where_they_cannot_apply_are_refused(tmp_path, args: list[str], message: str) -> None:
    code, err = run(tmp_path / "r.db", *args)
    assert code == 1 and err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
    assert nothing_recorded(tmp_path / "r.db")


def test_fewer_actors_than_endpoints_would_leave_some_unused(tmp_path) -> None:
    pytest.importorskip("ray")  # the check runs once the extra is known to be there
    urls = [f"http://127.0.0.1:{port}/v1" for port in (9, 10, 11)]
    pool = [arg for url in urls for arg in ("--base-url", url)]
    code, err = run(tmp_path / "r.db", *pool, "--executor", "ray", "--actors", "2")
    assert code == 1 and "--actors 2 would leave 1 of the 3 endpoints unused" in err
    assert nothing_recorded(tmp_path / "r.db")


PROBLEM = MultiArith().load(limit=1)[0]


def worker(base_url: str) -> ItemWorker:
    config = EvalConfig.model_validate(
        {
            "task": "multiarith",
            "strategies": ["direct"],
            "cache": False,
            "generator": {
                "model": "fake",
                "base_url": base_url,
                "api_key": "sk-secret-123456",
                "max_retries": 0,
            },
        }
    )
    return ItemWorker(config, "e-test", per_actor=2, store_content=True)


def row(kind: str, problem: str | None = None) -> dict[str, object]:
    return {
        "kind": kind,
        "spec": "direct",
        "index": 0,
        "problem_id": PROBLEM.id,
        "problem": problem if problem is not None else PROBLEM.model_dump_json(),
    }


def test_the_udf_runs_an_item_into_a_store_of_its_own_and_returns_its_trace(tmp_path) -> None:
    answer = FakeReply(f"The answer is {PROBLEM.reference}.")
    with serve(FakeOpenAIServer(replies=[answer])) as server:
        out = asyncio.run(worker(server.base_url)(row(ITEM)))
    assert {k: out[k] for k in ("kind", "spec", "index", "problem_id")} == {
        "kind": ITEM,
        "spec": "direct",
        "index": 0,
        "problem_id": PROBLEM.id,
    }
    item = ItemResult.model_validate_json(str(out["result"]))
    assert (item.status, item.correct, item.calls, item.calls_by_role) == ("done", True, 1, {"generator": 1})
    records = RunRecords.model_validate_json(str(out["runs"]))
    assert records.run_ids == [item.run_id]
    store = RunStore(tmp_path / "r.db")
    import_runs(store, records)
    [call] = store.get_run(str(item.run_id)).call_records
    assert call.text == answer.text and call.role == "generator"


def test_the_udf_never_raises_a_row_that_cannot_run_is_its_error(tmp_path) -> None:
    failing = FakeReply(status=400, error_message="bad request for sk-secret-123456")
    with serve(FakeOpenAIServer(replies=[failing])) as server:
        udf = worker(server.base_url)
        refused = asyncio.run(udf(row(ITEM)))  # the item's own failure: an error item with its trace
        unreadable = asyncio.run(udf(row(ITEM, problem="not a problem")))
        uncalibrated = asyncio.run(udf(row(CALIBRATION, problem="not a problem")))
    item = ItemResult.model_validate_json(str(refused["result"]))
    assert (
        item.status == "error" and "HTTP 400" in (item.error or "") and "sk-secret" not in (item.error or "")
    )
    assert len(RunRecords.model_validate_json(str(refused["runs"])).tables["calls"]) == 1
    bad = ItemResult.model_validate_json(str(unreadable["result"]))
    assert (bad.status, bad.problem_id, bad.strategy) == ("error", PROBLEM.id, "direct")
    assert (bad.error or "").startswith("ValidationError")
    assert RunRecords.model_validate_json(str(unreadable["runs"])).run_ids == []
    values = ProblemValues.model_validate_json(str(uncalibrated["result"]))
    assert values.values is None and (values.error or "").startswith(f"{PROBLEM.id}: ValidationError")

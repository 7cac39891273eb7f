"""The Ray executor on a real local Ray against the fake endpoint: the local executor's results,
row for row and call for call; a pool of endpoints round-robined per actor; a failing item
recorded as an error row and re-run, alone, by a resume from the CLI that joins the cluster."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

ray = pytest.importorskip("ray")  # the [ray] extra

from rich.console import Console  # noqa: E402

from redraft.integrations.ray_executor import EndpointTurns, ItemWorker, RayExecutor  # noqa: E402
from redraft.report.summary import summarize  # noqa: E402
from redraft.report.table import render_table  # noqa: E402
from redraft.runs.eval_store import EvalStore, ItemResult  # noqa: E402
from redraft.runs.evaluation import EvalConfig, Evaluation  # noqa: E402
from redraft.runs.store import RunStore  # noqa: E402
from redraft.tasks import MultiArith  # noqa: E402
from redraft.testing import FakeOpenAIServer, FakeReply, serve  # noqa: E402

pytestmark = [
    pytest.mark.ray,
    # Ray Data's own context warns of its deprecated fields whenever it is copied: not ours to fix.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context"),
]

PROBLEMS = MultiArith().load(limit=6)
REFERENCES = {p.prompt: p.reference for p in PROBLEMS}
POISONED = PROBLEMS[3]
TOO_LONG = FakeReply(status=400, error_message="context length exceeded")
#: Prompts the endpoints answer with a 400 while they are in here (every call about the problem).
poisoned: set[str] = set()
#: Ray's own temp files, logs and (if on) auth token stay out of the home folder.
RAY_ENV = {"RAY_AUTH_MODE": "disabled"}


def digest(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest(), 16)


def scripted_reply(messages: list[dict[str, Any]]) -> str:
    """Deterministic by content: right on some drafts, wrong on others; a critic that varies."""
    first, last = messages[0]["content"], messages[-1]["content"]
    reference = REFERENCES.get(first)
    if "VERDICT" in last:
        return "VERDICT: correct" if digest(last) % 2 else "Check step 2.\nVERDICT: revise"
    if reference is None:
        return "I cannot tell."
    right = digest(last) % 3 == 0 if len(messages) > 1 else digest(first) % 2 == 0
    return f"Some reasoning. The answer is {reference if right else int(float(reference)) + 1}."


def respond(body: dict[str, Any]) -> FakeReply:
    if any(prompt in body["messages"][0]["content"] for prompt in poisoned):
        return TOO_LONG
    return FakeReply(scripted_reply(body["messages"]), delay_s=0.02)


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """One local Ray for the module (its start costs seconds); yields its address."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in RAY_ENV.items():
            env.setenv(name, value)
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            yield ray.get_runtime_context().gcs_address
        finally:
            ray.shutdown()


@pytest.fixture(scope="module")
def endpoints() -> Iterator[list[FakeOpenAIServer]]:
    """Two fake endpoints serving the same model, reachable from the Ray workers."""
    with (
        serve(FakeOpenAIServer(respond=respond)) as first,
        serve(FakeOpenAIServer(respond=respond)) as second,
    ):
        yield [first, second]


def config(servers: list[FakeOpenAIServer]) -> EvalConfig:
    urls = [s.base_url for s in servers]
    return EvalConfig.model_validate(
        {
            "task": "multiarith",
            "strategies": ["direct", "self_refine"],
            "limit": len(PROBLEMS),
            "params": {"max_rounds": 2},
            "cache": False,
            "concurrency": 3,
            "generator": {"model": "fake", "base_url": urls[0], "max_retries": 1},
            "endpoints": urls if len(urls) > 1 else [],
        }
    )


def row(item: ItemResult) -> dict[str, Any]:
    """An item as the results table reads it: everything but its run id and timing."""
    return item.model_dump(exclude={"run_id", "wall_s"})


def trace(store: RunStore, run_id: str | None) -> dict[str, Any]:
    """A run's recorded trace: every call, candidate and pick, without latencies."""
    assert run_id is not None
    run = store.get_run(run_id)
    return {
        "calls": [c.model_dump(exclude={"latency_s"}) for c in run.call_records],
        "candidates": [c.model_dump() for c in run.candidates],
        "picks": [p.model_dump() for p in run.picks],
        "status": run.status,
        "answer": run.answer,
        "stop_reason": run.stop_reason,
    }


def table(store: RunStore, eval_id: str) -> tuple[list[dict[str, Any]], str]:
    """The results table as data (without timing and run ids) and as the text `report` prints."""
    summary, _ = summarize(store, eval_id)
    console = Console(record=True, width=250)
    render_table(summary, console)
    return (
        [m.model_dump(exclude={"wall_s": True, "calibration": {"run_ids"}}) for m in summary.strategies],
        console.export_text().replace(eval_id, "EVAL"),
    )


def test_ray_gives_the_local_executors_results_table_call_for_call(cluster, endpoints, tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    local = Evaluation(config(endpoints[:1]), store)
    expected = asyncio.run(local.run())
    on_ray = Evaluation(config(endpoints[:1]), store, executor=RayExecutor(actors=2, per_actor=2))
    got = asyncio.run(on_ray.run())
    assert len(got) == 12 and all(i.status == "done" for i in got)
    assert {i.correct for i in got} == {True, False}  # a table with something to compare
    assert [row(i) for i in got] == [row(i) for i in expected]
    assert [trace(store, i.run_id) for i in got] == [trace(store, i.run_id) for i in expected]
    assert {i.run_id for i in got}.isdisjoint({i.run_id for i in expected})  # runs of its own
    assert table(store, on_ray.eval_id) == table(store, local.eval_id)
    record = EvalStore(store).get(on_ray.eval_id)
    assert record.status == "done" and EvalStore(store).owner(on_ray.eval_id) is None


def test_each_actor_takes_the_next_endpoint_of_the_pool(cluster) -> None:
    pool = ["http://10.0.0.1:8000/v1", "http://10.0.0.2:8000/v1"]
    turns = ray.remote(num_cpus=0)(EndpointTurns).remote(pool)
    cfg = EvalConfig(
        task="multiarith",
        strategies=["direct"],
        endpoints=pool,
        generator={"model": "m", "base_url": pool[0]},
    )
    taken = [
        ItemWorker(cfg, "e-test", per_actor=1, store_content=True, turns=turns).endpoint for _ in range(3)
    ]
    ray.kill(turns)
    assert taken == [pool[0], pool[1], pool[0]]


def test_a_failing_item_is_an_error_row_and_a_cli_resume_on_the_cluster_reruns_only_it(
    cluster, endpoints, tmp_path
) -> None:
    db = tmp_path / "r.db"
    store = RunStore(db)
    expected = asyncio.run(Evaluation(config(endpoints[:1]), store).run())
    poisoned.add(POISONED.prompt)
    try:
        sent = [len(s.requests) for s in endpoints]
        evaluation = Evaluation(config(endpoints), store, executor=RayExecutor(actors=2, per_actor=2))
        first = asyncio.run(evaluation.run())
        failed = [i for i in first if i.status == "error"]
        assert [(i.strategy, i.problem_id) for i in failed] == [
            ("direct", POISONED.id),
            ("self_refine", POISONED.id),
        ]
        assert all("context length exceeded" in (i.error or "") for i in failed)
        assert [row(i) for i in first if i.status == "done"] == [
            row(i) for i in expected if i.problem_id != POISONED.id
        ]
        # Both endpoints of the pool were called; the failed calls came back with the traces.
        assert all(len(s.requests) > before for s, before in zip(endpoints, sent, strict=True))
        errors = store.db.execute("select count(*) from calls where error like '%HTTP 400%'").fetchone()[0]
        assert errors == len(failed)
        assert EvalStore(store).get(evaluation.eval_id).status == "done_with_errors"
    finally:
        poisoned.clear()

    sent = sum(len(s.requests) for s in endpoints)
    command = [
        sys.executable,
        "-m",
        "redraft",
        "evals",
        "resume",
        evaluation.eval_id,
        "--db",
        str(db),
        "--executor",
        "ray",
        "--ray-address",
        cluster,
        "--actors",
        "2",
        "--json",
    ]
    resumed = subprocess.run(
        command, capture_output=True, text=True, timeout=240, env={**os.environ, **RAY_ENV}
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    summary = json.loads(resumed.stdout)
    assert [(m["n"], m["n_errors"]) for m in summary["strategies"]] == [(6, 0), (6, 0)]
    items = EvalStore(RunStore(db)).items(evaluation.eval_id)
    assert [row(i) for i in items] == [row(i) for i in expected]
    rerun = [i for i in items if i.problem_id == POISONED.id]
    assert sum(len(s.requests) for s in endpoints) - sent == sum(i.calls for i in rerun)  # nothing else
    assert EvalStore(RunStore(db)).get(evaluation.eval_id).status == "done"


def test_a_calibration_pass_runs_as_a_first_pipeline_and_records_what_the_local_one_does(
    cluster, tmp_path
) -> None:
    from tests.runs.test_calibration import CALIBRATED, FIXED, replies

    reply = replies()
    with serve(FakeOpenAIServer(respond=lambda body: FakeReply(reply(body["messages"])))) as server:
        cfg = {
            "task": "multiarith",
            "strategies": [FIXED, CALIBRATED],
            "limit": 3,
            "cache": False,
            "generator": {"model": "fake", "base_url": server.base_url, "max_retries": 0},
        }
        store = RunStore(tmp_path / "r.db")
        local = Evaluation(EvalConfig.model_validate(cfg), store)
        expected = asyncio.run(local.run())
        on_ray = Evaluation(
            EvalConfig.model_validate(cfg), store, executor=RayExecutor(actors=2, per_actor=2)
        )
        got = asyncio.run(on_ray.run())
    measured = [EvalStore(store).get(e.eval_id).config["calibration"][CALIBRATED] for e in (local, on_ray)]
    assert measured[1]["params"] == measured[0]["params"] == {"min_confidence": 0.875}
    ignore = {"run_ids"}
    assert {k: v for k, v in measured[1].items() if k not in ignore} == {
        k: v for k, v in measured[0].items() if k not in ignore
    }
    assert all(store.get_run(run_id).stop_reason == "calibration" for run_id in measured[1]["run_ids"])
    assert [row(i) for i in got] == [row(i) for i in expected]
    calibrated = [i for i in got if i.strategy == CALIBRATED]
    assert all(store.get_run(i.run_id).strategy_params["min_confidence"] == 0.875 for i in calibrated)
    assert table(store, on_ray.eval_id) == table(store, local.eval_id)

"""The run store keeps every run, call and candidate, and reads them back intact."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from redraft.models.base import ModelError
from redraft.models.scripted import ScriptedModel
from redraft.runs.migrations import MIGRATIONS, migrate
from redraft.runs.store import RunNotFound, RunStore
from redraft.strategies.self_refine import SelfRefine
from redraft.trace import Verdict
from tests.helpers import PROBLEM, run_scripted


def test_round_trip_of_a_run_with_calls_and_candidates(tmp_path) -> None:
    store = RunStore(tmp_path / "runs.db")
    model = ScriptedModel(["5", "Wrong.\nVERDICT: revise", "4", "Right.\nVERDICT: correct"])
    outcome = run_scripted(SelfRefine(max_rounds=3), model, store=store)
    store.close()

    detail = RunStore(tmp_path / "runs.db").get_run(outcome.run_id)
    assert detail.status == "done" and detail.strategy == "self_refine"
    assert detail.strategy_params["max_rounds"] == 3
    assert detail.prompt == PROBLEM.prompt and detail.reference == "4"
    assert detail.answer == "4" and detail.stop_reason == "verdict"
    assert [(c.round, c.text, c.verdict) for c in detail.candidates] == [
        (0, "5", Verdict.REVISE), (1, "4", Verdict.OK)
    ]
    assert detail.candidates[0].feedback == "Wrong.\nVERDICT: revise"
    assert [c.role for c in detail.call_records] == ["generator", "critic", "refiner", "critic"]
    assert detail.call_records[0].messages == [{"role": "user", "content": PROBLEM.prompt}]
    assert detail.call_records[1].text == "Wrong.\nVERDICT: revise"
    assert detail.calls == 4 == outcome.usage.calls
    assert detail.prompt_tokens == outcome.usage.prompt_tokens > 0
    assert detail.models == {"generator": "scripted", "critic": "scripted", "refiner": "scripted"}


def test_runs_are_listed_newest_first_and_found_by_prefix(tmp_path) -> None:
    store = RunStore(tmp_path / "runs.db")
    ids = [run_scripted(SelfRefine(max_rounds=0), ScriptedModel([f"a{i}"]), store=store).run_id
           for i in range(3)]
    assert [s.id for s in store.list_runs()] == ids[::-1]
    assert store.get_run(ids[0][:8]).id == ids[0]
    with pytest.raises(RunNotFound, match="no run with id 'zzz'"):
        store.get_run("zzz")


def test_a_failed_run_keeps_what_it_recorded(tmp_path) -> None:
    store = RunStore(tmp_path / "runs.db")
    model = ScriptedModel(["draft", ModelError("endpoint down")])
    with pytest.raises(ModelError):
        run_scripted(SelfRefine(), model, store=store)
    [summary] = store.list_runs()
    detail = store.get_run(summary.id)
    assert detail.status == "error" and "endpoint down" in (detail.error or "")
    assert [c.text for c in detail.candidates] == ["draft"]
    assert detail.call_records[-1].error == "endpoint down"


def test_migrations_run_once_and_are_recorded(tmp_path) -> None:
    db = sqlite3.connect(tmp_path / "m.db")
    migrate(db)
    migrate(db)
    applied = [row[0] for row in db.execute("select name from _redraft_migrations")]
    assert applied == [fn.__name__ for fn in MIGRATIONS]


def test_store_is_usable_from_concurrent_coroutines(tmp_path) -> None:
    from redraft.models.managed import ManagedModel
    from redraft.runs.runner import run_strategy

    store = RunStore(tmp_path / "runs.db")

    async def many() -> list[str | None]:
        runs = [
            run_strategy(SelfRefine(max_rounds=1),
                         PROBLEM.model_copy(update={"id": f"p{i}"}),
                         {"generator": ManagedModel(ScriptedModel(["a", "VERDICT: correct"]))},
                         store=store)
            for i in range(10)
        ]
        return [o.run_id for o in await asyncio.gather(*runs)]

    ids = asyncio.run(many())
    assert len(set(ids)) == 10
    assert all(store.get_run(i).calls == 2 for i in ids if i)


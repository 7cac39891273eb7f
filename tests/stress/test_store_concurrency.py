"""Two to four processes opening one fresh store at the same instant: none fails, none half-migrates.

Each trial is a new file; the workers (reused across trials, so the cost is the trial, not
an interpreter start) wait for a shared instant, open the store, and write a run and an
evaluation. Bounded: at most 60 trials of at most 4 processes, each trial under a second.
The quick version runs in the normal suite; the full one is marked slow.
"""

from __future__ import annotations

import multiprocessing
import random
import sqlite3
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from redraft.runs.eval_store import EvalStore
from redraft.runs.migrations import migrations
from redraft.runs.store import RunStore
from redraft.tasks.base import Problem


def open_and_write(path: str, start_at: float) -> str:
    """'' if this process opened the store and wrote to it, else the error it hit."""
    time.sleep(max(0.0, start_at - time.time()))
    try:
        store = RunStore(path)
        store.start_run(strategy={"name": "direct"}, models={}, problem=Problem(id="p", prompt="q"))
        EvalStore(store).create("multiarith", ["direct"], {})
        store.close()
        return ""
    except Exception as exc:  # noqa: BLE001 (the failure is the result)
        return f"{type(exc).__name__}: {exc}"


def trials(tmp_path: Path, count: int, seed: int) -> None:
    rng = random.Random(seed)
    failures: list[str] = []
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(open_and_write, [str(tmp_path / "warm.db")] * 4, [0.0] * 4))  # imports done
        for trial in range(count):
            processes = rng.randint(2, 4)
            path = str(tmp_path / f"trial{trial}.db")
            start_at = time.time() + 0.15
            errors = list(pool.map(open_and_write, [path] * processes, [start_at] * processes,
                                   timeout=30))
            failures += [f"trial {trial}: {e}" for e in errors if e]
            db = sqlite3.connect(path)
            applied = [r[0] for r in db.execute("select name from _redraft_migrations order by name")]
            assert applied == migrations.names, f"trial {trial}: {applied}"
            assert db.execute("select count(*) from runs").fetchone()[0] == processes
            assert db.execute("select count(*) from evals").fetchone()[0] == processes
    assert failures == []


def test_a_fresh_store_opened_by_several_processes_at_once_quick(tmp_path) -> None:
    trials(tmp_path, count=4, seed=1)


@pytest.mark.slow
def test_a_fresh_store_opened_by_several_processes_at_once_60_trials(tmp_path) -> None:
    trials(tmp_path, count=60, seed=2)

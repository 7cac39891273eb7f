"""Numbered migrations: atomic, applied once even under a race, and old run stores move forward."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

from redraft.migrations import MigrationError, Migrations, enable_wal, execute_script, statements
from redraft.report.summary import summarize
from redraft.runs.migrations import migrate, migrations
from redraft.runs.replication_store import ReplicationStore
from redraft.runs.store import RunStore

LEGACY_STORE = Path(__file__).parent / "data" / "runs_store_v1.sql"
#: Written with m001-m007, before recorded studies: one finished evaluation.
STORE_V7 = Path(__file__).parent / "data" / "runs_store_v7.sql"

# A migration set that logs each application, for the races below (module level, so that a
# spawned process finds it by import).
RACE = Migrations("race")


def _log(db: sqlite3.Connection, name: str) -> None:
    db.execute("insert into log values (?)", (name,))
    time.sleep(0.05)  # widen the window in which a second applier could slip in


@RACE.register
def m001_log(db: sqlite3.Connection) -> None:
    execute_script(db, "create table log (migration text); create table a (x integer);")
    _log(db, "m001_log")


@RACE.register
def m002_column(db: sqlite3.Connection) -> None:
    db.execute("alter table a add column y integer")  # a second run would fail: duplicate column
    _log(db, "m002_column")


def open_and_migrate(path: str, start_at: float) -> list[str]:
    time.sleep(max(0.0, start_at - time.time()))
    db = sqlite3.connect(path, timeout=30)
    try:
        enable_wal(db)
        return RACE.apply(db)
    finally:
        db.close()


def open_store(path: str, start_at: float) -> None:
    time.sleep(max(0.0, start_at - time.time()))
    RunStore(path).close()


def tables(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute("select name from sqlite_master where type='table'")}


def applied(db: sqlite3.Connection) -> list[str]:
    return [row[0] for row in db.execute("select name from _redraft_migrations order by name")]


def columns(db: sqlite3.Connection, table: str) -> dict[str, tuple[str, int]]:
    return {row[1]: (row[2].lower(), row[3]) for row in db.execute(f"pragma table_info({table})")}


def two_tables(broken: list[bool]) -> Migrations:
    """m001 creates `a`, then `b`; while `broken[0]`, the second statement fails."""
    ms = Migrations("two tables")

    @ms.register
    def m001_two_tables(db: sqlite3.Connection) -> None:
        second = "insert into missing values (1)" if broken[0] else "create table b (y integer)"
        execute_script(db, f"create table a (x integer); {second};")

    return ms


def test_a_migration_failing_halfway_leaves_nothing_behind_and_applies_once_fixed(tmp_path) -> None:
    broken = [True]
    ms = two_tables(broken)
    db = sqlite3.connect(tmp_path / "m.db")
    with pytest.raises(sqlite3.OperationalError, match="no such table: missing"):
        ms.apply(db)
    assert tables(db) == {"_redraft_migrations"} and applied(db) == []
    assert not db.in_transaction and db.isolation_level == ""

    broken[0] = False
    assert ms.apply(db) == ["m001_two_tables"]
    assert tables(db) == {"_redraft_migrations", "a", "b"} and applied(db) == ["m001_two_tables"]
    assert ms.apply(db) == []


def test_earlier_migrations_stay_applied_when_a_later_one_fails(tmp_path) -> None:
    ms = Migrations("partial")

    @ms.register
    def m001_a(db: sqlite3.Connection) -> None:
        db.execute("create table a (x integer)")

    @ms.register
    def m002_b(db: sqlite3.Connection) -> None:
        execute_script(db, "create table b (y integer); alter table nope add column z;")

    db = sqlite3.connect(tmp_path / "m.db")
    with pytest.raises(sqlite3.OperationalError):
        ms.apply(db)
    assert tables(db) == {"_redraft_migrations", "a"} and applied(db) == ["m001_a"]


def test_a_migration_that_commits_on_its_own_is_an_error(tmp_path) -> None:
    ms = Migrations("bad")

    @ms.register
    def m001_executescript(db: sqlite3.Connection) -> None:
        db.executescript("create table a (x integer);")

    db = sqlite3.connect(tmp_path / "m.db")
    with pytest.raises(MigrationError, match="committed on its own"):
        ms.apply(db)
    assert applied(db) == []


def test_migrations_are_applied_once_and_the_isolation_level_is_restored(tmp_path) -> None:
    db = sqlite3.connect(tmp_path / "m.db", isolation_level="DEFERRED")
    assert RACE.apply(db) == ["m001_log", "m002_column"]
    assert RACE.apply(db) == []
    assert applied(db) == ["m001_log", "m002_column"]
    assert db.isolation_level == "DEFERRED"


def test_apply_refuses_to_commit_the_callers_open_transaction(tmp_path) -> None:
    db = sqlite3.connect(tmp_path / "m.db")
    db.execute("create table t (x integer)")
    db.execute("insert into t values (1)")  # opens an implicit transaction
    with pytest.raises(MigrationError, match="open transaction"):
        RACE.apply(db)
    assert db.in_transaction


def test_migrations_are_registered_in_number_order() -> None:
    ms = Migrations("order")

    @ms.register
    def m002_b(db: sqlite3.Connection) -> None: ...

    def m002_again(db: sqlite3.Connection) -> None: ...

    def m001_a(db: sqlite3.Connection) -> None: ...

    def create_things(db: sqlite3.Connection) -> None: ...

    for fn in (m002_again, m001_a):
        with pytest.raises(MigrationError, match="numbered after 'm002_b'"):
            ms.register(fn)
    with pytest.raises(MigrationError, match="mNNN_description"):
        ms.register(create_things)
    assert ms.names == ["m002_b"]


def test_scripts_split_into_statements() -> None:
    script = """
        create table a (x text default 'a;b'); -- a comment; with a semicolon
        create trigger t after insert on a begin insert into a values ('x'); end;
        create index i on a(x)
    """
    assert [s.split()[:2] for s in statements(script)] == [
        ["create", "table"], ["--", "a"], ["create", "index"]
    ]
    assert "end;" in list(statements(script))[1]
    trailing = "create table a (x);\n-- done; nothing after"
    assert [s.split()[0] for s in statements(trailing)] == ["create", "--"]
    db = sqlite3.connect(":memory:")
    execute_script(db, trailing)
    assert tables(db) == {"a"}
    assert list(statements(" ;\n; ")) == []
    with pytest.raises(MigrationError, match="incomplete"):
        list(statements("insert into a values ('unterminated;"))


def test_concurrent_threads_on_a_fresh_file_apply_each_migration_once(tmp_path) -> None:
    path = str(tmp_path / "race.db")
    start_at = time.time() + 0.2
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(open_and_migrate, [path] * 4, [start_at] * 4))  # raises what they raise
    assert sorted(name for r in results for name in r) == ["m001_log", "m002_column"]
    db = sqlite3.connect(path)
    assert sorted(row[0] for row in db.execute("select migration from log")) == ["m001_log", "m002_column"]


def test_concurrent_processes_on_a_fresh_file_apply_each_migration_once(tmp_path) -> None:
    path = str(tmp_path / "race.db")
    start_at = time.time() + 1.5  # after the spawned interpreters have imported this module
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        results = list(pool.map(open_and_migrate, [path] * 4, [start_at] * 4))
    assert sorted(name for r in results for name in r) == ["m001_log", "m002_column"]
    db = sqlite3.connect(path)
    assert sorted(row[0] for row in db.execute("select migration from log")) == ["m001_log", "m002_column"]


def test_concurrent_processes_open_a_fresh_run_store(tmp_path) -> None:
    path = str(tmp_path / "runs.db")
    start_at = time.time() + 1.5  # after the spawned interpreters have imported redraft
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(open_store, [path] * 4, [start_at] * 4))  # a double ALTER TABLE would raise
    assert applied(sqlite3.connect(path)) == migrations.names


def test_a_fresh_run_store_has_the_candidate_links(tmp_path) -> None:
    store = RunStore(tmp_path / "runs.db")
    assert columns(store.db, "candidates")["call_seq"] == ("integer", 0)
    assert columns(store.db, "candidates")["stage"] == ("text", 0)
    assert columns(store.db, "runs")["judge_usage_json"] == ("text", 0)
    assert columns(store.db, "calls")["stage"] == ("text", 0)
    assert applied(store.db) == migrations.names == [
        "m001_runs_calls_candidates", "m002_call_outputs", "m003_evaluations", "m004_candidate_links",
        "m005_call_stage", "m006_picks", "m007_owners", "m008_replications",
    ]
    assert columns(store.db, "picks")["candidate_seq"] == ("integer", 0)
    assert columns(store.db, "runs")["owner"] == ("text", 0)
    assert columns(store.db, "evals")["owner"] == ("text", 0)


def legacy_store(path: Path) -> None:
    db = sqlite3.connect(path)
    db.executescript(LEGACY_STORE.read_text())
    db.close()


def test_a_store_written_before_v2_migrates_forward_and_keeps_its_runs(tmp_path) -> None:
    path = tmp_path / "runs.db"
    legacy_store(path)
    store = RunStore(path)
    assert applied(store.db) == migrations.names
    assert {"call_seq", "stage"} <= set(columns(store.db, "candidates"))
    assert "judge_usage_json" in columns(store.db, "runs")
    first = store.db.execute("select applied_at from _redraft_migrations where name like 'm001%'")
    assert first.fetchone()[0].startswith("2026-12-01")  # the old record is kept, not redone
    detail = store.get_run("legacyrun0001")
    assert detail.prompt == "What is 2 + 2?" and [c.text for c in detail.candidates] == ["4"]
    row = store.db.execute("select call_seq, stage from candidates").fetchone()
    assert tuple(row) == (None, None)


def schema(db: sqlite3.Connection) -> set[tuple[str, str, str]]:
    rows = db.execute("select type, name, sql from sqlite_master where name != '_redraft_migrations'")
    return {(kind, name, " ".join(sql.lower().split())) for kind, name, sql in rows if sql}


def test_the_first_three_migrations_make_the_schema_they_made_before(tmp_path) -> None:
    legacy_store(tmp_path / "old.db")
    first_three = Migrations("v1")
    for fn in list(migrations)[:3]:
        first_three.register(fn)
    new = sqlite3.connect(tmp_path / "new.db")
    first_three.apply(new)
    assert schema(new) == schema(sqlite3.connect(tmp_path / "old.db"))


def test_migrate_runs_once(tmp_path) -> None:
    db = sqlite3.connect(tmp_path / "m.db")
    assert migrate(db) == migrations.names
    assert migrate(db) == []


def test_a_store_written_before_recorded_studies_migrates_and_keeps_its_evaluation(tmp_path) -> None:
    path = tmp_path / "runs.db"
    db = sqlite3.connect(path)
    db.executescript(STORE_V7.read_text())
    db.close()
    store = RunStore(path)
    assert applied(store.db) == migrations.names and migrations.names[-1] == "m008_replications"
    assert {"replications", "replication_evals"} <= tables(store.db)
    assert columns(store.db, "replications")["result_json"] == ("text", 0)
    assert columns(store.db, "replication_evals")["eval_id"] == ("text", 1)
    # The evaluation written before is untouched, reads as before, and belongs to no study.
    summary, items = summarize(store, "e22976044c81")
    assert summary.eval.strategies == ["direct"] and summary.complete
    assert [(i.problem_id, i.answer) for i in items["direct"]] == [("multiarith/0", "7")]
    assert ReplicationStore(store).of_eval("e22976044c81") is None
    assert ReplicationStore(store).recent() == []
    store.close()
    assert RunStore(path).db.execute("select count(*) from _redraft_migrations").fetchone()[0] == 8

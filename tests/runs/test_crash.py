"""Crashes, signals and two processes on one evaluation: nothing stays `running`, nothing runs twice.

Owners (pid, host, start time) are recorded on runs and evaluations; SIGINT and SIGTERM
mark what was running `interrupted` and exit 130 / 143; after a SIGKILL the next listing or
resume marks the dead process's rows `interrupted`; a live evaluation's lease refuses a second
process; an unusable database is one line, not a traceback.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from redraft.cli import app, evaluating, listing, running  # noqa: F401  (register the commands)
from redraft.errors import StoreError
from redraft.models.cache import ResponseCache
from redraft.runs import owner as owners
from redraft.runs.eval_store import EvalBusy, EvalStore
from redraft.runs.store import RunStore
from redraft.tasks import MultiArith
from redraft.testing import FakeOpenAIServer, FakeReply, serve

PROBLEM = MultiArith().load(limit=1)[0]


def dead_owner() -> owners.Owner:
    """The owner a process had, after it has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    me = owners.current()
    return owners.Owner(child.pid, me.host, "0", "gone")


# --- owners ---------------------------------------------------------------------------------------

def test_an_owner_is_dead_when_its_pid_is_gone_reused_or_a_zombie() -> None:
    me = owners.current()
    assert owners.is_alive(me)
    assert not owners.is_alive(dead_owner())
    # Our own pid with another start time: the pid was recycled, the owner is gone.
    assert not owners.is_alive(owners.Owner(os.getpid(), me.host, me.start + "1", "old"))
    zombie = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while owners.process_start(zombie.pid) not in (None, ("", True)) and time.monotonic() < deadline:
        found = owners.process_start(zombie.pid)
        if found and found[1]:
            break
        time.sleep(0.01)
    start = (owners.process_start(zombie.pid) or ("", True))[0]
    assert not owners.is_alive(owners.Owner(zombie.pid, me.host, start, "z"))  # exited, not reaped
    zombie.wait()


def test_an_owner_on_another_host_is_presumed_alive_and_garbage_is_not_stale() -> None:
    assert owners.is_alive(owners.Owner(1, "some-other-host.invalid", "0", "t"))
    assert not owners.is_stale("not an owner") and not owners.is_stale(None)
    me = owners.current("tok")
    assert owners.Owner.parse(str(me)) == me


def test_stale_runs_and_evaluations_are_marked_interrupted_when_listed(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    evals = EvalStore(store)
    dead = str(dead_owner())
    mine = store.start_run(strategy={"name": "direct"}, models={}, problem=PROBLEM)
    theirs = store.start_run(strategy={"name": "direct"}, models={}, problem=PROBLEM)
    eval_id = evals.create("multiarith", ["direct"], {})
    with store.db:
        store.db.execute("update runs set owner=? where id=?", (dead, theirs))
        store.db.execute("update evals set owner=? where id=?", (dead, eval_id))
    status = {r.id: r.status for r in store.list_runs()}
    assert status == {mine: "running", theirs: "interrupted"}  # a live owner's run is left alone
    [record] = evals.recent()
    assert record.status == "interrupted" and evals.owner(eval_id) is None


# --- the lease ------------------------------------------------------------------------------------

def test_a_live_lease_refuses_a_second_claimant_and_a_dead_one_is_taken_over(tmp_path) -> None:
    first, second = RunStore(tmp_path / "r.db"), RunStore(tmp_path / "r.db")  # two connections
    a, b = owners.current(), owners.current()
    eval_id = EvalStore(first).create("multiarith", ["direct"], {}, owner=a)
    EvalStore(first).claim(eval_id, a)  # the holder claiming again is fine
    with pytest.raises(EvalBusy, match=f"evaluation {eval_id} is already running \\(pid {os.getpid()}"):
        EvalStore(second).claim(eval_id, b)
    EvalStore(first).release(eval_id, a)
    EvalStore(second).claim(eval_id, b)  # released: free
    with second.db:
        second.db.execute("update evals set owner=? where id=?", (str(dead_owner()), eval_id))
    EvalStore(first).claim(eval_id, a)  # its holder died: taken over
    assert EvalStore(first).owner(eval_id) == str(a)


def test_the_claim_is_a_compare_and_set(tmp_path, monkeypatch) -> None:
    """Two claimants that both saw a dead holder: the second update matches nothing and is refused."""
    store = RunStore(tmp_path / "r.db")
    evals = EvalStore(store)
    dead = str(dead_owner())
    eval_id = evals.create("multiarith", ["direct"], {})
    with store.db:
        store.db.execute("update evals set owner=? where id=?", (dead, eval_id))
    winner, loser = owners.current(), owners.current()
    real_is_stale = owners.is_stale

    def racing(stored: str | None) -> bool:  # the winner claims between the loser's read and write
        if stored == dead and evals.owner(eval_id) == dead:
            with store.db:
                store.db.execute("update evals set owner=? where id=?", (str(winner), eval_id))
        return real_is_stale(stored)

    monkeypatch.setattr(owners, "is_stale", racing)
    with pytest.raises(EvalBusy):
        evals.claim(eval_id, loser)
    assert evals.owner(eval_id) == str(winner)


# --- unusable stores ------------------------------------------------------------------------------

def test_a_directory_or_a_non_sqlite_file_is_one_clear_error(tmp_path) -> None:
    (tmp_path / "dir.db").mkdir()
    (tmp_path / "junk.db").write_text("this is not a database\n" * 100)
    for cls in (RunStore, ResponseCache):
        with pytest.raises(StoreError, match="dir.db .*it is a directory"):
            cls(tmp_path / "dir.db")
        with pytest.raises(StoreError, match="junk.db .*not a database"):
            cls(tmp_path / "junk.db")
    for path in ("dir.db", "junk.db"):
        result = CliRunner().invoke(app, ["runs", "list", "--db", str(tmp_path / path)])
        assert result.exit_code == 1
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("error: cannot use ")


def test_a_read_only_store_is_one_clear_error() -> None:
    """As root, permissions do not stop writes: the check runs in a child that drops to nobody."""
    folder = Path(tempfile.mkdtemp(prefix="redraft-ro-"))
    try:
        path = folder / "runs.db"
        RunStore(path).close()
        path.chmod(0o444)
        folder.chmod(0o555)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover (the child)
            os.close(read)
            message = "opened"
            try:
                if os.geteuid() == 0:
                    os.setgid(65534)
                    os.setuid(65534)
                RunStore(path)
            except StoreError as exc:
                message = f"StoreError: {exc}"
            except BaseException as exc:  # noqa: BLE001 (report anything else as the failure)
                message = f"{type(exc).__name__}: {exc}"
            os.write(write, message.encode())
            os._exit(0)
        os.close(write)
        os.waitpid(pid, 0)
        message = os.read(read, 4096).decode()
        os.close(read)
        assert message.startswith("StoreError: cannot use "), message
        assert "readonly" in message or "unable to open" in message
    finally:
        folder.chmod(0o755)
        (folder / "runs.db").chmod(0o644)
        for leftover in folder.iterdir():
            leftover.unlink()
        folder.rmdir()


# --- signals and processes ------------------------------------------------------------------------

@pytest.fixture
def slow_endpoint() -> Iterator[FakeOpenAIServer]:
    with serve(FakeOpenAIServer(respond=lambda body: FakeReply("The answer is 4.", delay_s=0.25),
                                record=False)) as server:
        yield server


def eval_process(server: FakeOpenAIServer, db: Path, *args: str) -> subprocess.Popen[str]:
    """`redraft eval` on the slow endpoint (or `redraft ARGS`, which read the stored config)."""
    command = args or ("eval", "--task", "multiarith", "--limit", "6", "-s", "direct,self_refine",
                       "--concurrency", "2", "--no-cache", "--json", "--base-url", server.base_url,
                       "--model", "fake")
    return subprocess.Popen(
        [sys.executable, "-m", "redraft", *command, "--db", str(db)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "REDRAFT_CACHE": str(db.parent / "cache.db")})


def wait_for(db: Path, sql: str, timeout_s: float = 60) -> None:
    """Until `sql` returns a row (the process got as far as that), bounded."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if sqlite3.connect(db).execute(sql).fetchone():
                return
        except sqlite3.OperationalError:  # not created yet
            pass
        time.sleep(0.02)
    pytest.fail(f"never saw {sql}")


def statuses(db: Path, table: str) -> list[str]:
    return [r[0] for r in sqlite3.connect(db).execute(f"select status from {table}")]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_and_sigint_mark_everything_interrupted_and_exit_cleanly(
        slow_endpoint, tmp_path, signum, code) -> None:
    db = tmp_path / "r.db"
    process = eval_process(slow_endpoint, db)
    wait_for(db, "select 1 from eval_items")
    wait_for(db, "select 1 from runs where status='running'")
    process.send_signal(signum)
    _, err = process.communicate(timeout=30)
    assert process.returncode == code, err
    [eval_id] = [r[0] for r in sqlite3.connect(db).execute("select id from evals")]
    last = err.strip().splitlines()[-1]
    assert last == (f"interrupted by {signal.Signals(signum).name}: finished items are saved; "
                    f"resume with `redraft evals resume {eval_id}`")
    assert "Traceback" not in err
    assert statuses(db, "evals") == ["interrupted"]
    runs = statuses(db, "runs")
    assert "running" not in runs and "interrupted" in runs and "error" not in runs
    assert sqlite3.connect(db).execute("select owner from evals").fetchone()[0] is None  # released
    resumed = eval_process(slow_endpoint, db, "evals", "resume", eval_id, "--json")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert json.loads(out)["eval"]["status"] == "done" and statuses(db, "evals") == ["done"]
    assert sqlite3.connect(db).execute("select count(*) from eval_items").fetchone()[0] == 12


def test_after_sigkill_listing_marks_the_dead_process_rows_interrupted(slow_endpoint, tmp_path) -> None:
    db = tmp_path / "r.db"
    process = eval_process(slow_endpoint, db)
    wait_for(db, "select 1 from runs where status='running'")
    process.kill()
    process.wait(30)
    assert statuses(db, "evals") == ["running"]  # what SIGKILL leaves behind
    listed = CliRunner().invoke(app, ["evals", "list", "--json", "--db", str(db)])
    assert [e["status"] for e in json.loads(listed.stdout)] == ["interrupted"]
    runs = CliRunner().invoke(app, ["runs", "list", "--json", "--db", str(db)])
    assert "running" not in {r["status"] for r in json.loads(runs.stdout)}
    assert "running" not in statuses(db, "runs")


def test_a_second_process_cannot_resume_a_running_evaluation(slow_endpoint, tmp_path) -> None:
    db = tmp_path / "r.db"
    first = eval_process(slow_endpoint, db)
    try:
        wait_for(db, "select 1 from runs where status='running'")
        [eval_id] = [r[0] for r in sqlite3.connect(db).execute("select id from evals")]
        second = eval_process(slow_endpoint, db, "evals", "resume", eval_id)
        _, err = second.communicate(timeout=60)
        assert second.returncode == 1, err
        assert err.strip().splitlines() == [
            f"error: evaluation {eval_id} is already running (pid {first.pid} on host "
            f"{owners.this_host()}); wait for it to finish, or stop it and then resume"]
        pids = {owners.Owner.parse(r[0]).pid for r in sqlite3.connect(db).execute("select owner from runs")}
        assert pids == {first.pid}  # the refused process started no run
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=30)
    assert first.returncode == 143

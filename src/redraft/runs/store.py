"""The run store: every run, call and candidate in SQLite, queryable after the fact.

A trace is data, not logs. Calls and candidates are written as they happen (a
crash keeps what was done), keyed by (run, seq) so an updated candidate (one
that got its feedback) replaces its earlier row.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from redraft import paths
from redraft.database import open_database
from redraft.errors import RedraftError
from redraft.models.base import Usage
from redraft.redact import redact
from redraft.runs import owner as owners
from redraft.runs.migrations import migrate
from redraft.runs.outcome import Outcome
from redraft.tasks.base import Problem
from redraft.trace import CallRecord, Candidate, Event, Listener, Pick, Verdict


class RunNotFound(RedraftError, LookupError):
    """No run matches the id or prefix the user gave."""


class RunSummary(BaseModel):
    id: str
    created_at: str
    strategy: str
    status: str
    problem_id: str | None
    prompt: str
    answer: str | None
    stop_reason: str | None
    error: str | None
    oracle: bool
    calls: int
    prompt_tokens: int
    completion_tokens: int
    wall_s: float | None


class RunDetail(RunSummary):
    strategy_params: dict[str, Any]
    models: dict[str, str]
    reference: str | None
    final_text: str | None
    judge_usage: Usage | None = None
    candidates: list[Candidate]
    call_records: list[CallRecord]
    picks: list[Pick] = []


def default_db_path() -> Path:
    """`$REDRAFT_DB`, else `runs.db` under `$REDRAFT_HOME` (see `redraft.paths`, which decides)."""
    return paths.db_path()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class RunStore:
    """One SQLite file holding every run. Safe to share across coroutines of one loop."""

    def __init__(self, path: str | Path | None = None, *, store_content: bool = True) -> None:
        self.path = Path(path) if path is not None else default_db_path()
        #: False keeps the facts of every call (roles, tokens, latency, verdicts, scores) and
        #: none of the text: prompts, outputs, critiques and answers are stored as null, for a
        #: server whose traffic must not be kept (`redraft serve --no-store-content`).
        self.store_content = store_content
        #: False leaves writes uncommitted until `commit()`: a server writing many small runs
        #: commits them in batches (on a timer) instead of three fsyncs per request.
        self.autocommit = True
        #: Batch commits may come from a worker thread (the server's timer) and from the loop at
        #: shutdown: a cancelled `to_thread` commit still runs, so two must never interleave.
        self._commit_lock = threading.Lock()
        self.db = open_database(self.path, "run store", migrate)
        self.db.row_factory = sqlite3.Row
        #: This process, as the owner of the runs it starts (see `redraft.runs.owner`).
        self.owner = owners.current()

    def close(self) -> None:
        if not self.autocommit:
            self.commit()
        self.db.close()

    def _writing(self) -> Any:
        """One transaction per write, or, with `autocommit` off, the open batch."""
        return self.db if self.autocommit else contextlib.nullcontext()

    def commit(self) -> None:
        """Make every write so far visible to other connections (with `autocommit` off)."""
        with self._commit_lock:
            if self.db.in_transaction:
                self.db.commit()

    def interrupt_run(self, run_id: str) -> None:
        """A run stopped by a signal or a cancellation: neither done nor failed, and resumable."""
        with self._writing():
            self.db.execute("update runs set status='interrupted', error='interrupted'"
                            " where id=? and status='running'", (run_id,))

    def reap_stale(self) -> int:
        """Mark `interrupted` every running run and evaluation whose owner is known dead (a
        SIGKILL leaves them `running` forever otherwise); returns how many. An evaluation's
        lease is released with it. A read-only store is left as it is."""
        reaped = 0
        try:
            for table, release in (("runs", ""), ("evals", ", owner=null")):
                rows = self.db.execute(
                    f"select id, owner from {table} where status='running' and owner is not null")
                for row in rows.fetchall():
                    if owners.is_stale(row["owner"]):
                        with self.db:  # compare-and-set: a live process may have claimed it meanwhile
                            reaped += self.db.execute(
                                f"update {table} set status='interrupted'{release}"
                                " where id=? and owner=? and status='running'",
                                (row["id"], row["owner"])).rowcount
        except sqlite3.OperationalError as exc:
            if "readonly" not in str(exc):
                raise
        return reaped

    def start_run(
        self,
        *,
        strategy: dict[str, Any],
        models: dict[str, str],
        problem: Problem,
        oracle: bool = False,
    ) -> str:
        run_id = uuid.uuid4().hex[:12]
        with self._writing():
            self.db.execute(
                "insert into runs (id, created_at, strategy, strategy_json, models_json, problem_id,"
                " prompt, reference, status, oracle, owner) values (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?)",
                (run_id, _now(), strategy["name"], json.dumps(strategy), json.dumps(models),
                 problem.id, self._text(problem.prompt) or "", self._text(problem.reference), int(oracle),
                 str(self.owner)),
            )
        return run_id

    def listener(self, run_id: str) -> Listener:
        """A trace listener writing this run's calls and candidates as they happen."""

        def write(event: Event) -> None:
            with self._writing():
                if isinstance(event, CallRecord):
                    self._write_call(run_id, event)
                elif isinstance(event, Pick):
                    self._write_pick(run_id, event)
                else:
                    self._write_candidate(run_id, event)

        return write

    def _write_call(self, run_id: str, c: CallRecord) -> None:
        self.db.execute(
            "insert or replace into calls (run_id, seq, role, model, messages_json, sampling_json,"
            " output, outputs_json, finish_reason, prompt_tokens, completion_tokens, latency_ms,"
            " attempts, cached, error, stage, created_at)"
            " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, c.seq, c.role, c.model, json.dumps(c.messages if self.store_content else []),
             json.dumps(self._facts(c.sampling)), self._text(c.text),
             json.dumps(c.texts) if c.texts and self.store_content else None, c.finish_reason,
             c.prompt_tokens,
             c.completion_tokens, round(c.latency_s * 1000), c.attempts, int(c.cached),
             c.error and redact(c.error), c.stage, _now()),
        )

    def _write_candidate(self, run_id: str, c: Candidate) -> None:
        self.db.execute(
            "insert or replace into candidates (run_id, seq, round, kind, text, answer, feedback,"
            " verdict, score, parent, call_seq, stage, metadata_json)"
            " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, c.seq, c.round, c.kind, self._text(c.text) or "", self._text(c.answer),
             self._text(c.feedback),
             c.verdict.value if c.verdict else None, c.score, c.parent, c.call_seq, c.stage,
             json.dumps(self._facts(c.metadata))),
        )

    def _write_pick(self, run_id: str, p: Pick) -> None:
        if p.stage is not None:  # only the outer strategy's picks are the run's rounds
            return
        self.db.execute(
            "insert or replace into picks (run_id, round, candidate_seq, text, answer, score, stage)"
            " values (?, ?, ?, ?, ?, ?, ?)",
            (run_id, p.round, p.candidate_seq, self._text(p.text) or "", self._text(p.answer), p.score,
             p.stage),
        )

    def finish_run(self, run_id: str, outcome: Outcome) -> None:
        usage = outcome.usage
        with self._writing():
            self.db.execute(
                "update runs set status='done', answer=?, final_text=?, stop_reason=?, calls=?,"
                " prompt_tokens=?, completion_tokens=?, wall_s=?, usage_by_role_json=? where id=?",
                (self._text(outcome.answer), self._text(outcome.text), outcome.stop_reason, usage.calls,
                 usage.prompt_tokens,
                 usage.completion_tokens, outcome.wall_s,
                 json.dumps({r: u.model_dump() for r, u in outcome.usage_by_role.items()}), run_id),
            )

    def _text(self, text: str | None) -> str | None:
        return text if self.store_content else None

    def _facts(self, values: dict[str, Any]) -> dict[str, Any]:
        """`values` (sampling, candidate metadata), or without `store_content` only its numbers and
        flags: stop strings, tool descriptions, a program's source are text like any other."""
        if self.store_content:
            return values
        return {k: v for k, v in values.items() if v is None or isinstance(v, bool | int | float)}

    def set_judge_usage(self, run_id: str, usage: Usage) -> None:
        """What grading the run cost, kept apart from the method's usage."""
        with self._writing():
            self.db.execute("update runs set judge_usage_json=? where id=?",
                            (json.dumps(usage.model_dump()), run_id))

    def last_seq(self, run_id: str) -> int:
        """The highest seq the run's trace holds, so later records (its grading) follow it."""
        row = self.db.execute(
            "select max(seq) from (select seq from calls where run_id=?"
            " union all select seq from candidates where run_id=?)", (run_id, run_id)).fetchone()
        return int(row[0] or 0)

    def call_times(self, run_id: str) -> dict[int, str]:
        """When each of a run's calls was recorded (when it ended), by seq: for exports that need times."""
        rows = self.db.execute("select seq, created_at from calls where run_id=?", (run_id,))
        return {int(r["seq"]): r["created_at"] for r in rows}

    def fail_run(self, run_id: str, error: str) -> None:
        with self._writing():
            self.db.execute("update runs set status='error', error=? where id=?", (redact(error), run_id))

    def list_runs(self, limit: int = 20) -> list[RunSummary]:
        """The newest runs; runs whose process died are marked `interrupted` first."""
        self.reap_stale()
        rows = self.db.execute("select * from runs order by created_at desc limit ?", (limit,))
        return [self._summary(row) for row in rows]

    def get_run(self, run_id: str) -> RunDetail:
        rows = self.db.execute(
            "select * from runs where id like ? order by created_at desc", (run_id + "%",)
        ).fetchall()
        if not rows:
            raise RunNotFound(f"no run with id {run_id!r} in {self.path}")
        if len(rows) > 1:
            raise RunNotFound(f"run id prefix {run_id!r} is ambiguous: {len(rows)} runs match")
        row = rows[0]
        candidates = [
            Candidate(
                seq=c["seq"], round=c["round"], kind=c["kind"], text=c["text"], answer=c["answer"],
                feedback=c["feedback"], verdict=Verdict(c["verdict"]) if c["verdict"] else None,
                score=c["score"], parent=c["parent"], call_seq=c["call_seq"], stage=c["stage"],
                metadata=json.loads(c["metadata_json"] or "{}"),
            )
            for c in self.db.execute("select * from candidates where run_id=? order by seq", (row["id"],))
        ]
        calls = [
            CallRecord(
                seq=c["seq"], role=c["role"], model=c["model"], messages=json.loads(c["messages_json"]),
                sampling=json.loads(c["sampling_json"]), text=c["output"] or "",
                texts=json.loads(c["outputs_json"] or "[]"),
                finish_reason=c["finish_reason"], prompt_tokens=c["prompt_tokens"] or 0,
                completion_tokens=c["completion_tokens"] or 0, latency_s=(c["latency_ms"] or 0) / 1000,
                attempts=c["attempts"] or 1, cached=bool(c["cached"]), error=c["error"], stage=c["stage"],
            )
            for c in self.db.execute("select * from calls where run_id=? order by seq", (row["id"],))
        ]
        picks = [
            Pick(round=p["round"], candidate_seq=p["candidate_seq"], text=p["text"], answer=p["answer"],
                 score=p["score"], stage=p["stage"])
            for p in self.db.execute("select * from picks where run_id=? order by round", (row["id"],))
        ]
        return RunDetail(
            **self._summary(row).model_dump(),
            strategy_params=json.loads(row["strategy_json"]).get("params", {}),
            models=json.loads(row["models_json"]),
            reference=row["reference"],
            final_text=row["final_text"],
            judge_usage=_usage(row["judge_usage_json"]),
            candidates=candidates,
            call_records=calls,
            picks=picks,
        )

    @staticmethod
    def _summary(row: sqlite3.Row) -> RunSummary:
        return RunSummary(
            id=row["id"], created_at=row["created_at"], strategy=row["strategy"], status=row["status"],
            problem_id=row["problem_id"], prompt=row["prompt"], answer=row["answer"],
            stop_reason=row["stop_reason"], error=row["error"], oracle=bool(row["oracle"]),
            calls=row["calls"], prompt_tokens=row["prompt_tokens"],
            completion_tokens=row["completion_tokens"], wall_s=row["wall_s"],
        )


def _usage(stored: str | None) -> Usage | None:
    return Usage.model_validate_json(stored) if stored else None

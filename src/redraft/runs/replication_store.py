"""Recorded studies in the run store: one row per run of a study (a replication), and its evaluations.

A replication is written when the study starts (`running`, owned by this process), each evaluation
is linked to it as the study creates it, and its result (a `StudyResult` as JSON; this module only
stores and returns the JSON, `redraft.studies.recorded` reads it back) is written when it finishes.
So an interrupted study still names its evaluations, and `redraft evals show` of any of them can say
which study it belongs to. Nothing here stores a credential: the caller gives the settings with the
models in words (see `StudyContext.settings`), and error text is redacted.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from typing import Any, Literal

from pydantic import BaseModel

from redraft.redact import redact
from redraft.runs import owner as owners
from redraft.runs.store import RunNotFound, RunStore, _now

ReplicationStatus = Literal["running", "done", "failed", "interrupted"]


class ReplicationRecord(BaseModel):
    id: str
    created_at: str
    study: str
    task: str
    #: What it ran with: limit, seed, sampling, cache, the study's params, the models in words.
    settings: dict[str, Any]
    status: ReplicationStatus
    eval_ids: list[str]
    #: The `StudyResult` as JSON, once the study finished (None while running, or if it did not).
    result: dict[str, Any] | None = None
    error: str | None = None
    wall_s: float = 0.0


class ReplicationStore:
    """Reads and writes replications in a `RunStore`'s database."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self.db = store.db

    def create(self, study: str, task: str, settings: dict[str, Any]) -> str:
        """A new replication, `running` and owned by this process."""
        replication_id = "r" + uuid.uuid4().hex[:11]
        with self.db:
            self.db.execute(
                "insert into replications (id, created_at, study, task, settings_json, status, owner)"
                " values (?, ?, ?, ?, ?, 'running', ?)",
                (replication_id, _now(), study, task, json.dumps(settings), str(self.store.owner)),
            )
        return replication_id

    def link(self, replication_id: str, eval_id: str) -> None:
        """Record that `eval_id` is one of the replication's evaluations (the next in order)."""
        with self.db:
            self.db.execute(
                "insert or ignore into replication_evals (replication_id, eval_id, position)"
                " values (?, ?, (select count(*) from replication_evals where replication_id=?))",
                (replication_id, eval_id, replication_id),
            )

    def finish(self, replication_id: str, result: dict[str, Any], wall_s: float) -> None:
        with self.db:
            self.db.execute(
                "update replications set status='done', result_json=?, wall_s=?, owner=null where id=?",
                (json.dumps(result), wall_s, replication_id),
            )

    def fail(
        self, replication_id: str, status: Literal["failed", "interrupted"], error: str, wall_s: float
    ) -> None:
        """A study that stopped before its result: why, in one redacted line."""
        with self.db:
            self.db.execute(
                "update replications set status=?, error=?, wall_s=?, owner=null where id=?",
                (status, redact(" ".join(error.split())), wall_s, replication_id),
            )

    def get(self, replication_id: str) -> ReplicationRecord:
        """The replication with this id or unique prefix (`RunNotFound` otherwise)."""
        self.reap_stale()
        rows = self.db.execute(
            "select * from replications where substr(id, 1, length(?)) = ? order by created_at desc",
            (replication_id, replication_id),
        ).fetchall()
        if len(rows) != 1:
            problem = "no replication" if not rows else f"{len(rows)} replications match"
            raise RunNotFound(f"{problem} with id {replication_id!r} in {self.store.path}")
        return self._record(rows[0])

    def recent(self, limit: int = 20) -> list[ReplicationRecord]:
        """The newest replications; those whose process died are marked `interrupted` first."""
        self.reap_stale()
        rows = self.db.execute("select * from replications order by created_at desc limit ?", (limit,))
        return [self._record(row) for row in rows.fetchall()]

    def of_eval(self, eval_id: str) -> ReplicationRecord | None:
        """The replication an evaluation belongs to, if a study ran it."""
        row = self.db.execute(
            "select replication_id from replication_evals where eval_id=?", (eval_id,)
        ).fetchone()
        return None if row is None else self.get(row["replication_id"])

    def reap_stale(self) -> int:
        """Mark `interrupted` every running replication whose process is known dead (a SIGKILL
        leaves it `running` otherwise); returns how many. A read-only store is left as it is."""
        reaped = 0
        try:
            rows = self.db.execute(
                "select id, owner from replications where status='running' and owner is not null"
            )
            for row in rows.fetchall():
                if owners.is_stale(row["owner"]):
                    with self.db:
                        reaped += self.db.execute(
                            "update replications set status='interrupted', owner=null,"
                            " error='its process died before it finished' where id=? and owner=?"
                            " and status='running'",
                            (row["id"], row["owner"]),
                        ).rowcount
        except sqlite3.OperationalError as exc:
            if "readonly" not in str(exc):
                raise
        return reaped

    def _record(self, row: sqlite3.Row) -> ReplicationRecord:
        eval_ids = [
            r["eval_id"]
            for r in self.db.execute(
                "select eval_id from replication_evals where replication_id=? order by position", (row["id"],)
            )
        ]
        return ReplicationRecord(
            id=row["id"],
            created_at=row["created_at"],
            study=row["study"],
            task=row["task"],
            settings=json.loads(row["settings_json"]),
            status=row["status"],
            eval_ids=eval_ids,
            result=json.loads(row["result_json"]) if row["result_json"] else None,
            error=row["error"],
            wall_s=row["wall_s"],
        )

"""Numbered SQLite schema migrations (and WAL on open), shared by every redraft database.

A `Migrations` set is an ordered list of functions `m001_...`, `m002_...`
registered with `@migrations.register`; `apply(db)` runs those not yet recorded
in the table `_redraft_migrations` (name, applied_at). Add a new function at the
end for every schema change; never edit one that has shipped.

Each migration is atomic: its statements and the record of its name commit
together or not at all. That is why the connection runs in autocommit mode
(`isolation_level=None`) with an explicit transaction around each migration, and
why a migration must not call `executescript` (it commits on its own) but
`execute_script` below. Two processes opening a fresh file at once do not both
apply a migration: each takes the write lock (`BEGIN IMMEDIATE`) and checks the
applied set again inside the transaction.

A leaf module: it imports nothing of redraft.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

Migration = Callable[[sqlite3.Connection], None]

TABLE = "_redraft_migrations"
NAME_PATTERN = re.compile(r"m(\d{3})_\w+")


class MigrationError(RuntimeError):
    """A migration set was misdeclared, or could not be applied safely."""


def statements(script: str) -> Iterator[str]:
    """The statements of an SQL script, one at a time (semicolons in strings or triggers are kept)."""
    *pieces, tail = script.split(";")
    if tail.strip():  # a last statement without its semicolon, or a trailing comment
        pieces.append(tail + "\n")
    buffer = ""
    for piece in pieces:
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip(" \t\r\n;"):
                yield buffer.strip()
            buffer = ""
    if buffer.strip():
        raise MigrationError(f"incomplete SQL statement at the end of the script: {buffer.strip()!r}")


def execute_script(db: sqlite3.Connection, script: str) -> None:
    """Run a multi-statement script inside the current transaction (unlike `executescript`)."""
    for statement in statements(script):
        db.execute(statement)


def enable_wal(db: sqlite3.Connection, timeout_s: float = 10.0) -> None:
    """`pragma journal_mode=wal`, retried while the file is locked.

    When several processes open a fresh file at once, the pragma fails at once with
    "database is locked" in all but one (SQLite's busy timeout does not cover a
    journal-mode change), so it is retried here until the first one has converted it.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            db.execute("pragma journal_mode=wal")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _number(fn: Migration) -> int:
    return int(fn.__name__[1:4])


def _applied(db: sqlite3.Connection) -> set[str]:
    return {row[0] for row in db.execute(f"select name from {TABLE}")}


class Migrations:
    """A named, ordered set of migrations for one kind of database."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._steps: list[Migration] = []

    def __iter__(self) -> Iterator[Migration]:
        return iter(self._steps)

    def __len__(self) -> int:
        return len(self._steps)

    @property
    def names(self) -> list[str]:
        return [fn.__name__ for fn in self._steps]

    def register(self, fn: Migration) -> Migration:
        """Decorator: append `fn`, whose name must be `mNNN_...` numbered after the last one."""
        match = NAME_PATTERN.fullmatch(fn.__name__)
        if match is None:
            raise MigrationError(f"{self.name}: migration {fn.__name__!r} is not named mNNN_description")
        if self._steps and int(match.group(1)) <= _number(self._steps[-1]):
            raise MigrationError(
                f"{self.name}: migration {fn.__name__!r} must be numbered after {self._steps[-1].__name__!r}"
            )
        self._steps.append(fn)
        return fn

    def apply(self, db: sqlite3.Connection) -> list[str]:
        """Apply, in order, every migration not yet recorded in `db`; return the names applied now."""
        if db.in_transaction:
            raise MigrationError(f"{self.name}: cannot migrate inside an open transaction; commit it first")
        previous = db.isolation_level
        db.isolation_level = None
        try:
            db.execute(f"create table if not exists {TABLE} (name text primary key, applied_at text)")
            already = _applied(db)  # a first look; each migration checks again under the write lock
            done: list[str] = []
            for fn in self._steps:
                if fn.__name__ not in already and self._apply_one(db, fn):
                    done.append(fn.__name__)
            return done
        finally:
            db.isolation_level = previous

    def _apply_one(self, db: sqlite3.Connection, fn: Migration) -> bool:
        """Run one migration and record it, atomically; False if another connection got there first."""
        db.execute("begin immediate")
        try:
            if fn.__name__ in _applied(db):
                db.execute("rollback")
                return False
            fn(db)
            if not db.in_transaction:
                raise MigrationError(
                    f"{self.name}: migration {fn.__name__!r} committed on its own (executescript?);"
                    " use redraft.migrations.execute_script"
                )
            db.execute(f"insert into {TABLE} (name, applied_at) values (?, ?)", (fn.__name__, _now()))
        except BaseException:
            if db.in_transaction:
                db.execute("rollback")
            raise
        db.execute("commit")
        return True

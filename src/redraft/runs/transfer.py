"""Moving runs between run stores: what a worker recorded, written into the evaluation's store.

A Ray actor on another machine cannot write the driver's SQLite file. So it records each item
into a run store of its own, in memory, exactly as the local executor records into the
evaluation's; `export_runs` then takes every row of it (runs, calls, candidates, picks) as plain
values, they travel back with the item's result, and `import_runs` inserts them unchanged into
the driver's store. The trace keeps its run ids, seqs and values, as if it had been recorded
there, so `report`, `export` and `runs show` read it like any other.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from redraft.errors import StoreError
from redraft.runs.migrations import migrations
from redraft.runs.store import RunStore

#: The tables that hold runs and their traces (evaluations and replications are the driver's).
TABLES = ("runs", "calls", "candidates", "picks")


def schema() -> str:
    """This redraft's run store schema: its last migration."""
    return migrations.names[-1]


class RunRecords(BaseModel):
    """Every row of some runs, per table, as column -> value; `schema` is the store's they came from."""

    schema_name: str
    tables: dict[str, list[dict[str, Any]]]

    @property
    def run_ids(self) -> list[str]:
        return [row["id"] for row in self.tables.get("runs", [])]


def export_runs(store: RunStore) -> RunRecords:
    """Every run in `store` (a worker's store of one item) with its calls, candidates and picks."""
    store.commit()
    tables = {table: [dict(row) for row in store.db.execute(f"select * from {table}")] for table in TABLES}
    return RunRecords(schema_name=schema(), tables=tables)


def import_runs(store: RunStore, records: RunRecords) -> None:
    """Insert `records` into `store` in one transaction. A run id already there is an error (never
    two runs under one id); so is a schema other than this redraft's, named in the message."""
    if records.schema_name != schema():
        raise StoreError(
            f"runs recorded by a redraft whose run store schema ends at {records.schema_name}, but this "
            f"one's ends at {schema()}: install the same redraft version on the driver and every worker"
        )
    with store.db:
        for table in TABLES:
            rows = records.tables.get(table, [])
            if not rows:
                continue
            known = {row[1] for row in store.db.execute(f"pragma table_info({table})")}
            columns = list(rows[0])
            unknown = sorted(set(columns) - known)
            if unknown:
                raise StoreError(f"runs to import have columns {unknown} that table {table} lacks")
            store.db.executemany(
                f"insert into {table} ({', '.join(columns)}) values ({', '.join('?' * len(columns))})",
                [tuple(row[c] for c in columns) for row in rows],
            )

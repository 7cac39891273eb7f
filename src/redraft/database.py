"""Opening a redraft database: WAL mode, migrations, and one clear error when the file is unusable.

Shared by the run store and the response cache, so both refuse a directory, a file that is not
SQLite or a read-only store the same way: a `StoreError` naming the path, never a traceback.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from redraft.errors import StoreError, is_store_problem
from redraft.migrations import enable_wal


def open_database(
    path: Path, what: str, migrate_db: Callable[[sqlite3.Connection], object]
) -> sqlite3.Connection:
    """A WAL-mode connection to an up-to-date database, or a `StoreError` in one line.

    A directory, a file that is not SQLite, a read-only or full disk all surface here (the
    first statement reads the header), not as a traceback in the middle of a run.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise StoreError(f"cannot use {path} as the {what}: it is a directory")
        db = sqlite3.connect(path, check_same_thread=False)
        try:
            enable_wal(db)
            db.execute("pragma synchronous=normal")
            db.execute("pragma cache_size=-65536")  # 64 MiB: a large store keeps its indexes in memory
            migrate_db(db)
        except BaseException:
            db.close()
            raise
        return db
    except sqlite3.Error as exc:
        if not is_store_problem(exc):
            raise
        raise StoreError(f"cannot use {path} as the {what}: {exc}") from None
    except OSError as exc:
        raise StoreError(f"cannot use {path} as the {what}: {exc.strerror or exc}") from None

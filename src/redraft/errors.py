"""The one base for every error a user can fix, so the CLI knows which failures are theirs.

The CLI turns a `RedraftError` (and a path error) into one line on stderr; anything else
is a programming bug and keeps its traceback. A leaf module: it imports nothing of redraft.
"""

from __future__ import annotations


class RedraftError(Exception):
    """A failure the user can act on: bad input, a missing model or extra, an unreachable endpoint."""


class UsageError(RedraftError, ValueError):
    """Options that do not go together, or a required one that is missing."""


class MissingExtra(RedraftError, ImportError):
    """A feature whose optional dependencies are not installed; the message names the extra."""

    def __init__(self, feature: str, extra: str) -> None:
        super().__init__(f"{feature} needs the [{extra}] extra: pip install 'redraft[{extra}]'")
        self.extra = extra


class StoreError(RedraftError):
    """A database file redraft cannot use: a directory, not SQLite, read-only, locked, full."""


#: sqlite3 messages that describe the file or the disk, not a bug in redraft's SQL.
STORE_PROBLEMS = ("unable to open", "not a database", "readonly", "read-only", "locked", "disk",
                  "malformed", "full", "no such file")


def is_store_problem(exc: BaseException) -> bool:
    """Whether a sqlite3 error is about the file or disk (the user's to fix), not a SQL bug."""
    import sqlite3

    return isinstance(exc, sqlite3.DatabaseError) and any(p in str(exc).lower() for p in STORE_PROBLEMS)

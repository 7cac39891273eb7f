"""A response cache keyed by the full request, so re-running an evaluation costs nothing.

Only deterministic requests are cached: temperature 0, or a fixed seed (the
sample index is part of the seed, so the k samples of one request stay
distinct). Each cached answer is marked `cached=True` in the trace; its tokens
still count as the method's cost, because that is what the method would spend.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from redraft import paths
from redraft.database import open_database
from redraft.migrations import Migrations
from redraft.models.base import Completion, Message

migrations = Migrations("response cache")


@migrations.register
def m001_responses(db: sqlite3.Connection) -> None:
    """`if not exists`: caches made before migrations already have this table (and no record of it)."""
    db.execute("create table if not exists responses (key text primary key, completions_json text not null)")


def default_cache_path() -> Path:
    """`$REDRAFT_CACHE`, else `cache.db` under `$REDRAFT_HOME` (see `redraft.paths`, which decides)."""
    return paths.cache_path()


def cacheable(sampling: dict[str, Any]) -> bool:
    """Deterministic requests only; a streamed call (`on_delta`) is never answered from the cache,
    since its tokens must reach the client as they are made."""
    if sampling.get("on_delta") is not None:
        return False
    return sampling.get("temperature") == 0 or sampling.get("seed") is not None


def request_key(endpoint: str, model: str, messages: list[Message], sampling: dict[str, Any]) -> str:
    payload = json.dumps(
        {"endpoint": endpoint, "model": model, "messages": messages, "sampling": sampling},
        sort_keys=True, ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


class ResponseCache:
    """Completions by request key, in SQLite (shared safely by the coroutines of one process)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_cache_path()
        self._lock = threading.Lock()
        self.db = open_database(self.path, "response cache", migrations.apply)
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> list[Completion] | None:
        with self._lock:
            row = self.db.execute("select completions_json from responses where key=?", (key,)).fetchone()
        if row is None:
            self.misses += 1
            return None
        self.hits += 1
        return [Completion.model_validate(c).model_copy(update={"cached": True})
                for c in json.loads(row[0])]

    def put(self, key: str, completions: list[Completion]) -> None:
        data = json.dumps([c.model_dump() for c in completions])
        with self._lock, self.db:
            self.db.execute("insert or replace into responses values (?, ?)", (key, data))

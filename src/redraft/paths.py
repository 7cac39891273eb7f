"""Where redraft keeps its files: one home folder, each file overridable on its own.

`$REDRAFT_HOME` (default `~/.redraft`) moves everything at once, which is what a
test, a CI job or a second checkout wants; `$REDRAFT_DB` and `$REDRAFT_CACHE`
still point one file elsewhere (a shared run store, a cache on a faster disk).
A leaf module: it imports nothing of redraft, so any module may ask it.
"""

from __future__ import annotations

import os
from pathlib import Path


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else None


def home() -> Path:
    """The folder of every redraft file: `$REDRAFT_HOME`, else `~/.redraft`."""
    return _env_path("REDRAFT_HOME") or Path.home() / ".redraft"


def db_path() -> Path:
    """The run store: `$REDRAFT_DB`, else `runs.db` in `home()`."""
    return _env_path("REDRAFT_DB") or home() / "runs.db"


def cache_path() -> Path:
    """The response cache: `$REDRAFT_CACHE`, else `cache.db` in `home()`."""
    return _env_path("REDRAFT_CACHE") or home() / "cache.db"


def config_path() -> Path:
    """Where a user configuration would live (`config.toml` in `home()`); only the path, nothing is read."""
    return home() / "config.toml"

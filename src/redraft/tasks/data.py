"""Finding benchmark files and reading JSONL with errors a user can act on.

The benchmark data lives outside the package (`shared/data` beside the repo), so
its location is searched rather than assumed; user JSONL files get errors that
name the file, the line and the field, since that is what a person has to fix.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from redraft.tasks.base import TaskError

DATA_DIR_ENV = "REDRAFT_DATA_DIR"


def _candidates(start: Path) -> list[Path]:
    """`shared/data` and `../shared/data` seen from `start` and each folder above it."""
    found: list[Path] = []
    for folder in (start, *start.parents):
        for candidate in (folder / "shared" / "data", folder.parent / "shared" / "data"):
            if candidate not in found:
                found.append(candidate)
    return found


def data_dir() -> Path:
    """The benchmark data folder: `$REDRAFT_DATA_DIR`, else the nearest `shared/data`.

    Searched upwards from the working directory and from this file, so it works
    from a checkout, from CI's clone beside `shared/`, and from an installed copy.
    """
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise TaskError(f"{DATA_DIR_ENV}={env} is not a directory")
        return path
    tried: list[Path] = []
    for start in (Path.cwd().resolve(), Path(__file__).resolve().parent):
        for candidate in _candidates(start):
            if candidate in tried:
                continue
            tried.append(candidate)
            if candidate.is_dir():
                return candidate
    listed = "\n  ".join(str(p) for p in tried)
    raise TaskError(
        f"benchmark data folder not found; set {DATA_DIR_ENV} or put it at one of:\n  {listed}"
    )


def data_file(relative: str) -> Path:
    """A file inside the data folder, with an error naming the full path when absent."""
    path = data_dir() / relative
    if not path.is_file():
        raise TaskError(f"benchmark file not found: {path}")
    return path


def read_jsonl(path: str | Path, limit: int | None = None) -> list[tuple[int, dict[str, Any]]]:
    """The objects of a JSONL file with their 1-based line numbers; blank lines skipped.

    Stops after `limit` records so a quick run on a huge file stays quick.
    Raises TaskError naming the file and line for anything that is not a JSON object, and
    for a file with no records at all: an evaluation of nothing would report a 0% (or an
    empty table) as if it had measured something.
    """
    path = Path(path)
    if not path.is_file():
        raise TaskError(f"{path}: no such file")
    records: list[tuple[int, dict[str, Any]]] = []
    try:
        with path.open(encoding="utf-8") as handle:
            for lineno, line in enumerate(handle, start=1):
                if limit is not None and len(records) >= limit:
                    break
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as err:
                    raise TaskError(f"{path}:{lineno}: not valid JSON ({err.msg})") from None
                if not isinstance(record, dict):
                    kind = type(record).__name__
                    raise TaskError(f"{path}:{lineno}: expected a JSON object, got {kind}")
                records.append((lineno, record))
    except UnicodeDecodeError as err:
        raise TaskError(f"{path}: not UTF-8 text ({err.reason})") from None
    if not records and limit != 0:
        raise TaskError(f"{path} has no records (it is empty or only blank lines)")
    return records


def count_lines(path: Path) -> int:
    """Non-blank lines of a JSONL file: its size without parsing it."""
    with path.open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def require(record: dict[str, Any], fields: tuple[str, ...], path: Path, lineno: int) -> Any:
    """The value of the first of `fields` present in `record`; else an error naming them."""
    for field in fields:
        if field in record and record[field] is not None:
            return record[field]
    names = " or ".join(repr(f) for f in fields)
    raise TaskError(f"{path}:{lineno}: missing field {names}")

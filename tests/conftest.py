"""Every test gets its own run store and no inherited endpoint or key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from redraft.testing import FakeOpenAIServer, FakeReply, serve


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "runs.db"
    monkeypatch.setenv("REDRAFT_DB", str(db))
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return db


@pytest.fixture
def fake_server() -> Iterator[FakeOpenAIServer]:
    with serve(FakeOpenAIServer(replies=[FakeReply()])) as server:
        yield server

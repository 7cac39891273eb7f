"""Every test gets its own redraft home (run store, cache) and no inherited endpoint or key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from redraft.testing import FakeOpenAIServer, FakeReply, serve

INHERITED = ("REDRAFT_DB", "REDRAFT_CACHE", "OPENAI_BASE_URL", "OPENAI_API_KEY")


def isolate(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("REDRAFT_HOME", str(home))
    for name in INHERITED:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session", autouse=True)
def isolated_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """For module- and session-scoped fixtures, which run before any function-scoped one."""
    home = tmp_path_factory.mktemp("session-home")
    with pytest.MonkeyPatch.context() as monkeypatch:
        isolate(monkeypatch, home)
        yield home


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's redraft home; returns its run store path."""
    home = tmp_path / "redraft-home"
    isolate(monkeypatch, home)
    return home / "runs.db"


@pytest.fixture
def fake_server() -> Iterator[FakeOpenAIServer]:
    with serve(FakeOpenAIServer(replies=[FakeReply()])) as server:
        yield server

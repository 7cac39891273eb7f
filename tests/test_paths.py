"""Where redraft's files go: REDRAFT_HOME moves them all, REDRAFT_DB / REDRAFT_CACHE one each."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import redraft
from redraft import paths
from redraft.models.cache import ResponseCache, default_cache_path
from redraft.runs.store import RunStore, default_db_path

SRC = Path(redraft.__file__).parent


def test_without_any_setting_everything_is_under_dot_redraft(monkeypatch, tmp_path) -> None:
    monkeypatch.delenv("REDRAFT_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert paths.home() == tmp_path / ".redraft"
    assert (paths.db_path(), paths.cache_path(), paths.config_path()) == (
        tmp_path / ".redraft" / "runs.db", tmp_path / ".redraft" / "cache.db",
        tmp_path / ".redraft" / "config.toml",
    )


def test_redraft_home_moves_both_files(monkeypatch, tmp_path) -> None:
    home = tmp_path / "elsewhere"
    monkeypatch.setenv("REDRAFT_HOME", str(home))
    assert (default_db_path(), default_cache_path()) == (home / "runs.db", home / "cache.db")
    assert paths.config_path() == home / "config.toml"
    RunStore().close()
    ResponseCache().db.close()
    assert sorted(p.name for p in home.glob("*.db")) == ["cache.db", "runs.db"]


def test_redraft_db_and_redraft_cache_override_the_home(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("REDRAFT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("REDRAFT_DB", str(tmp_path / "a" / "store.db"))
    monkeypatch.setenv("REDRAFT_CACHE", str(tmp_path / "b" / "responses.db"))
    assert RunStore().path == tmp_path / "a" / "store.db"
    assert ResponseCache().path == tmp_path / "b" / "responses.db"
    assert paths.home() == tmp_path / "home" and not (tmp_path / "home").exists()


def test_the_suite_never_sees_the_users_home() -> None:
    assert paths.home() != Path.home() / ".redraft"  # set by tests/conftest.py


@pytest.mark.parametrize("module", ["paths.py", "migrations.py"])
def test_leaf_modules_import_nothing_of_redraft(module: str) -> None:
    tree = ast.parse((SRC / module).read_text())
    imported = [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
    imported += [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
    assert not [name for name in imported if name.split(".")[0] == "redraft"]

"""Input that makes no sense is refused: one line on stderr, a non-zero exit, and no request sent."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from redraft.cli import app, evaluating, listing, running  # noqa: F401  (register the commands)
from redraft.runs.evaluation import EvalConfig
from redraft.strategies.registry import build_strategy
from redraft.tasks.base import TaskError
from redraft.tasks.registry import get_task
from redraft.testing import FakeOpenAIServer, FakeReply, serve


@pytest.fixture
def endpoint() -> Iterator[FakeOpenAIServer]:
    with serve(FakeOpenAIServer(respond=lambda body: FakeReply("The answer is 4."))) as server:
        yield server


def refused(endpoint: FakeOpenAIServer, tmp_path: Path, *args: str) -> str:
    """Run `redraft ARGS` against the fake endpoint; assert exit 1, one stderr line, no request."""
    command = [*args, "--base-url", endpoint.base_url, "--model", "fake", "--db", str(tmp_path / "r.db")]
    result = CliRunner().invoke(app, command)
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 1, (result.exit_code, result.stderr, result.stdout)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert endpoint.requests == []
    return lines[0]


EVAL = ("eval", "--task", "multiarith", "--limit", "2", "-s", "direct")


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--concurrency", "0", "--concurrency must be greater than 0, got 0"),
    ("--concurrency", "-3", "--concurrency must be greater than 0"),
    ("--limit", "0", "--limit must be greater than 0, got 0"),
    ("--limit", "-1", "--limit must be greater than 0"),
    ("--timeout", "0", "--timeout must be greater than 0"),
    ("--timeout", "-5", "--timeout must be greater than 0"),
    ("--max-tokens", "0", "--max-tokens must be greater than 0"),
    ("--budget-calls", "0", "--budget-calls must be greater than 0"),
    ("--budget-calls", "-1", "--budget-calls must be greater than 0"),
    ("--budget-tokens", "0", "--budget-tokens must be greater than 0"),
    ("--retries", "-1", "--retries must be 0 or more"),
])
def test_eval_refuses_counts_that_make_no_sense(endpoint, tmp_path, option, value, message) -> None:
    args = [a for a in EVAL if a not in ("--limit", "2")] if option == "--limit" else list(EVAL)
    assert message in refused(endpoint, tmp_path, *args, option, value)


@pytest.mark.parametrize(("option", "value"), [
    ("--max-tokens", "0"), ("--max-calls", "0"), ("--max-calls", "-2"), ("--max-total-tokens", "0"),
    ("--timeout", "0"), ("--timeout", "-1"), ("--retries", "-1"),
])
def test_run_refuses_counts_that_make_no_sense(endpoint, tmp_path, option, value) -> None:
    line = refused(endpoint, tmp_path, "run", "What is 2 + 2?", "-s", "direct", option, value)
    assert option in line


@pytest.mark.parametrize("strategies", [",", " , ,"])
def test_an_empty_strategy_list_is_refused(endpoint, tmp_path, strategies) -> None:
    line = refused(endpoint, tmp_path, "eval", "--task", "multiarith", "--limit", "1", "-s", strategies)
    assert "give at least one strategy" in line


def test_a_strategy_given_twice_is_refused_up_front(endpoint, tmp_path) -> None:
    line = refused(endpoint, tmp_path, *EVAL[:-1], "direct,direct")
    assert "more than once" in line
    with pytest.raises(ValidationError, match="more than once"):  # the library refuses it too
        EvalConfig(task="multiarith", strategies=["direct", "self_refine", "direct"])


def test_an_empty_task_file_is_refused(endpoint, tmp_path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n  \n")
    line = refused(endpoint, tmp_path, "eval", "--task", f"jsonl:{empty}", "-s", "direct")
    assert "has no records" in line
    with pytest.raises(TaskError, match="has no records"):
        get_task(f"jsonl:{empty}").load()


def test_an_unknown_shared_parameter_on_eval_is_an_error(endpoint, tmp_path) -> None:
    line = refused(endpoint, tmp_path, *EVAL, "-p", "max_roundz=2")
    assert "has parameter max_roundz" in line


@pytest.mark.parametrize("spec", ["best_of_n[n=100000]", "self_consistency[k=65]", "gsr[n=1000]",
                                  "magicore[k=500]"])
def test_sample_counts_beyond_the_cap_are_refused(endpoint, tmp_path, spec) -> None:
    line = refused(endpoint, tmp_path, *EVAL[:-1], spec)
    assert "less than or equal to 64" in line


@pytest.mark.parametrize("spec", ["best_of_n[n=64]", "self_consistency[k=64]", "gsr[n=64]",
                                  "magicore[k=64]"])
def test_the_cap_itself_is_allowed(spec) -> None:
    build_strategy(spec)


def test_the_library_refuses_what_the_cli_refuses() -> None:
    for bad in ({"concurrency": 0}, {"limit": 0}, {"max_tokens": 0}, {"budget_calls": 0},
                {"budget_tokens": -1}, {"strategies": []}):
        with pytest.raises(ValidationError):
            EvalConfig.model_validate({"task": "multiarith", "strategies": ["direct"], **bad})

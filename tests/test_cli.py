"""The `redraft` command, run as a user would: real processes, a local fake endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.openai_server import FakeOpenAIServer, FakeReply, serve


def redraft(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "redraft", *args], capture_output=True, text=True, timeout=120,
        env={**os.environ, **(env or {})},
    )


def arithmetic_server(body: dict[str, Any]) -> FakeReply:
    last = body["messages"][-1]["content"]
    if "VERDICT" in last:
        return FakeReply("17 * 23 is 391. Correct.\nVERDICT: correct")
    return FakeReply("17 * 23 = 391")


@pytest.fixture
def endpoint() -> Iterator[FakeOpenAIServer]:
    with serve(FakeOpenAIServer(respond=arithmetic_server)) as server:
        yield server


def assert_clean_failure(result: subprocess.CompletedProcess[str], code: int, message: str) -> None:
    assert result.returncode == code, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_run_json_against_an_openai_compatible_endpoint(endpoint: FakeOpenAIServer) -> None:
    result = redraft("run", "What is 17 * 23? Answer with a number.", "--base-url",
                     endpoint.base_url, "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) >= {"run_id", "strategy", "answer", "rounds", "usage"}
    assert out["strategy"] == "self_refine" and out["answer"] == "17 * 23 = 391"
    assert [(r["round"], r["verdict"]) for r in out["rounds"]] == [(0, "ok")]
    assert set(out["rounds"][0]) >= {"round", "candidate", "feedback", "verdict"}
    assert out["usage"]["calls"] == 2 and out["usage"]["prompt_tokens"] > 0
    assert endpoint.requests[0]["model"] == "fake-model"  # discovered from /v1/models


def test_run_shows_each_step_then_runs_and_show_read_it_back(endpoint: FakeOpenAIServer) -> None:
    result = redraft("run", "What is 17 * 23?", "--base-url", endpoint.base_url, "--model", "m1")
    assert result.returncode == 0, result.stderr
    assert "--- draft · m1" in result.stdout and "--- critique · m1" in result.stdout
    assert "round 0: verdict ok" in result.stdout
    listed = json.loads(redraft("runs", "--json").stdout)
    assert listed[0]["prompt"] == "What is 17 * 23?" and listed[0]["status"] == "done"
    shown = redraft("show", listed[0]["id"][:6])
    assert shown.returncode == 0
    assert "round 0 · draft" in shown.stdout and "VERDICT: correct" in shown.stdout


def test_separate_critic_endpoint(endpoint: FakeOpenAIServer) -> None:
    with serve(FakeOpenAIServer(replies=[FakeReply("Fine.\nVERDICT: correct")])) as critic:
        result = redraft("run", "Q?", "--base-url", endpoint.base_url, "--model", "gen",
                         "--critic-base-url", critic.base_url, "--critic-model", "judge", "--json")
    assert result.returncode == 0, result.stderr
    assert [r["model"] for r in endpoint.requests] == ["gen"]
    assert [r["model"] for r in critic.requests] == ["judge"]


def test_strategies_json_lists_self_refine_with_its_paper() -> None:
    result = redraft("strategies", "--json")
    [info] = [s for s in json.loads(result.stdout) if s["name"] == "self_refine"]
    assert "Madaan" in info["paper"] and info["params"]["max_rounds"]["default"] == 4


def test_missing_model_file() -> None:
    result = redraft("run", "hi", "--model", "local:/nonexistent/model.gguf")
    assert_clean_failure(result, 1, "error: model file not found: /nonexistent/model.gguf")


def test_unreachable_endpoint() -> None:
    result = redraft("run", "hi", "--base-url", "http://127.0.0.1:9/v1", "--model", "m",
                     "--retries", "0")
    assert_clean_failure(result, 1, "Cannot connect to host 127.0.0.1:9")


def test_endpoint_error_status(endpoint: FakeOpenAIServer) -> None:
    with serve(FakeOpenAIServer(replies=[FakeReply(status=401, error_message="bad key")])) as bad:
        result = redraft("run", "hi", "--base-url", bad.base_url, "--model", "m")
    assert_clean_failure(result, 1, "HTTP 401: bad key")


def test_bad_flag_value() -> None:
    assert_clean_failure(redraft("run", "hi", "--max-rounds", "many"), 2, "Invalid value")


def test_unknown_strategy() -> None:
    assert_clean_failure(redraft("run", "hi", "--strategy", "nope"), 1,
                         "error: unknown strategy 'nope'; choose from:")


def test_bad_strategy_parameter() -> None:
    assert_clean_failure(redraft("run", "hi", "-p", "max_rounds=-1"), 1,
                         "bad parameters for self_refine: max_rounds")
    assert_clean_failure(redraft("run", "hi", "-p", "max_rounds"), 1, "expects KEY=VALUE")


def test_show_unknown_run() -> None:
    assert_clean_failure(redraft("show", "doesnotexist"), 1, "error: no run with id 'doesnotexist'")

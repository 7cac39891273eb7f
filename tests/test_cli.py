"""The `redraft` command, run as a user would: real processes, a local fake endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from redraft.testing import FakeOpenAIServer, FakeReply, serve


def redraft(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "redraft", *args], capture_output=True, text=True, timeout=120,
        env=dict(os.environ), input=stdin,
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


def test_tasks_lists_the_benchmarks_with_sizes() -> None:
    infos = {t["spec"]: t for t in json.loads(redraft("tasks", "--json").stdout)}
    assert infos["gsm8k"]["size"] == 1319 and infos["humaneval"]["size"] == 164
    assert "jsonl:PATH" in infos


def test_run_on_a_task_problem_scores_the_final_answer(endpoint: FakeOpenAIServer) -> None:
    with serve(FakeOpenAIServer(respond=lambda body: FakeReply(
            "VERDICT: correct" if "VERDICT" in body["messages"][-1]["content"]
            else "The answer is 18."))) as server:
        result = redraft("run", "--task", "gsm8k", "--problem", "0", "--base-url", server.base_url,
                         "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["problem_id"] == "gsm8k/0" and out["answer"] == "18"
    assert out["score"]["correct"] is True and out["score"]["reference"] == "18"
    assert out["oracle"] is False


def test_oracle_feedback_runs_are_labelled(endpoint: FakeOpenAIServer) -> None:
    replies = [FakeReply("The answer is 7."), FakeReply("The answer is 18.")]
    with serve(FakeOpenAIServer(replies=replies)) as s:
        result = redraft("run", "--task", "gsm8k", "--feedback", "oracle", "--base-url", s.base_url,
                         "--model", "m")
    assert result.returncode == 0, result.stderr
    assert "ORACLE feedback" in result.stdout and "gsm8k/0: correct" in result.stdout
    assert len(s.requests) == 2  # draft, redraft: the oracle itself makes no call


def test_judge_shows_the_verdict_of_a_feedback_source() -> None:
    good = ("def has_close_elements(numbers, threshold):\n"
            "    return any(abs(a - b) < threshold for i, a in enumerate(numbers)"
            " for b in numbers[i + 1:])\n")
    result = redraft("judge", good, "--task", "humaneval", "--feedback", "tests", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["verdict"] == "ok" and out["oracle"] is False
    assert out["task_score"]["correct"] is True
    bad = redraft("judge", "-", "--task", "humaneval", "--feedback", "tests",
                  stdin="def has_close_elements(numbers, threshold):\n    return False\n")
    assert bad.returncode == 0 and "verdict revise" in bad.stdout


def test_judge_with_a_critic_endpoint(endpoint: FakeOpenAIServer) -> None:
    result = redraft("judge", "391", "--prompt", "What is 17 * 23?", "--base-url", endpoint.base_url,
                     "--json")
    assert json.loads(result.stdout)["verdict"] == "ok"


def test_task_and_feedback_errors_are_one_line() -> None:
    assert_clean_failure(redraft("run", "--task", "nosuch"), 1, "error: unknown task 'nosuch'")
    assert_clean_failure(redraft("run", "hi", "--feedback", "oracle"), 1, "oracle feedback needs a task")
    assert_clean_failure(redraft("run", "--task", "gsm8k", "--problem", "99999"), 1, "out of range")
    assert_clean_failure(redraft("run", "hi", "--task", "gsm8k"), 1, "not both")
    assert_clean_failure(redraft("run"), 1, "give a PROMPT")


def test_run_shows_every_sample_of_a_multi_sample_request(endpoint: FakeOpenAIServer) -> None:
    with serve(FakeOpenAIServer(replies=[FakeReply("The answer is 1."), FakeReply("The answer is 2."),
                                         FakeReply("The answer is 2.")])) as server:
        result = redraft("run", "Q?", "--strategy", "self_consistency", "-p", "k=3",
                         "--base-url", server.base_url, "--model", "m")
    assert result.returncode == 0, result.stderr
    assert "sample 1/3" in result.stdout and "sample 3/3" in result.stdout
    assert len(server.requests) == 1 and server.requests[0]["n"] == 3

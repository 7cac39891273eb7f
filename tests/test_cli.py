"""The `redraft` command, run as a user would: real processes, a local fake endpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from redraft.cli import app, evaluating, listing, running  # noqa: F401  (register the commands)
from redraft.cli.options import validated
from redraft.errors import UsageError
from redraft.models.resolve import ModelConfig
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
    listed = json.loads(redraft("runs", "list", "--json").stdout)
    assert listed[0]["prompt"] == "What is 17 * 23?" and listed[0]["status"] == "done"
    shown = redraft("runs", "show", listed[0]["id"][:6])
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


def test_run_refuses_a_threshold_only_an_evaluation_can_measure(endpoint: FakeOpenAIServer) -> None:
    result = redraft("run", "hi", "--strategy", "magicore[min_confidence=dataset]", "--base-url",
                     endpoint.base_url, "--model", "m")
    assert_clean_failure(result, 1, "min_confidence=dataset is measured over the problems of an evaluation")
    assert "it needs an evaluation (`redraft eval`)" in result.stderr
    assert not [r for r in endpoint.requests if "messages" in r]  # refused before any call


def test_show_unknown_run() -> None:
    assert_clean_failure(redraft("runs", "show", "doesnotexist"), 1,
                         "error: no run with id 'doesnotexist'")


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


def note(old: str, new: str) -> str:
    return f"note: 'redraft {old}' is now 'redraft {new}'"


def test_runs_list_and_show_with_their_options(endpoint: FakeOpenAIServer) -> None:
    for prompt in ("First?", "Second?"):
        assert redraft("run", prompt, "--base-url", endpoint.base_url, "--json").returncode == 0
    newest = json.loads(redraft("runs", "list", "-n", "1", "--json").stdout)
    assert [r["prompt"] for r in newest] == ["Second?"]
    table = redraft("runs", "list")
    assert table.returncode == 0 and "First?" in table.stdout and "note:" not in table.stderr
    detail = json.loads(redraft("runs", "show", newest[0]["id"], "--json").stdout)
    assert detail["prompt"] == "Second?"
    calls = redraft("runs", "show", newest[0]["id"], "--calls")
    assert calls.returncode == 0 and "call 1 · generator" in calls.stdout
    # Options before the subcommand belong to the old spelling: refused, not silently dropped.
    misplaced = redraft("runs", "-n", "1", "list")
    assert misplaced.returncode == 1 and "put -n/--limit after the subcommand" in misplaced.stderr


def test_old_run_spellings_still_work_and_say_what_replaced_them(endpoint: FakeOpenAIServer) -> None:
    assert redraft("run", "Old?", "--base-url", endpoint.base_url, "--json").returncode == 0
    old_list = redraft("runs", "-n", "5", "--json")
    assert old_list.returncode == 0 and note("runs", "runs list") in old_list.stderr
    listed = json.loads(old_list.stdout)  # the note is on stderr: stdout still parses
    assert listed[0]["prompt"] == "Old?"
    old_show = redraft("show", listed[0]["id"][:6], "--json")
    assert old_show.returncode == 0 and note("show", "runs show") in old_show.stderr
    assert json.loads(old_show.stdout)["prompt"] == "Old?"
    assert_clean_failure(redraft("show", "doesnotexist"), 1, "error: no run with id 'doesnotexist'")


def evaluate(endpoint: FakeOpenAIServer) -> str:
    result = redraft("eval", "--task", "multiarith", "--limit", "2", "--strategy", "direct",
                     "--base-url", endpoint.base_url, "--model", "m", "--no-cache", "--json")
    assert result.returncode == 0, result.stderr
    return str(json.loads(result.stdout)["eval"]["id"])


def test_evals_list_show_report_resume(endpoint: FakeOpenAIServer, tmp_path: Path) -> None:
    eval_id = evaluate(endpoint)
    listed = redraft("evals", "list", "--json")
    assert listed.returncode == 0 and not listed.stderr
    assert [e["id"] for e in json.loads(listed.stdout)] == [eval_id]
    assert eval_id in redraft("evals", "list").stdout
    shown = redraft("evals", "show", eval_id[:6])
    assert shown.returncode == 0 and "direct" in shown.stdout and "note:" not in shown.stderr
    assert json.loads(redraft("evals", "show", eval_id, "--json").stdout)["eval"]["id"] == eval_id
    html = tmp_path / "report.html"
    reported = redraft("evals", "report", eval_id, "--html", str(html), "--json")
    assert reported.returncode == 0, reported.stderr
    assert json.loads(reported.stdout)["eval"]["id"] == eval_id and html.read_text().startswith("<")
    resumed = redraft("evals", "resume", eval_id, "--api-key", "k", "--critic-api-key", "c", "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert "0 of 2 items to run" in resumed.stderr and "note:" not in resumed.stderr
    assert json.loads(resumed.stdout)["eval"]["status"] == "done"
    assert_clean_failure(redraft("evals", "resume", "nope"), 1, "error: no evaluation with id 'nope'")
    assert_clean_failure(redraft("evals", "show", "nope"), 1, "error: no evaluation with id 'nope'")


def test_old_eval_spellings_still_work_and_say_what_replaced_them(endpoint: FakeOpenAIServer) -> None:
    eval_id = evaluate(endpoint)
    old_list = redraft("evals", "--json")
    assert old_list.returncode == 0 and note("evals", "evals list") in old_list.stderr
    assert [e["id"] for e in json.loads(old_list.stdout)] == [eval_id]
    old_report = redraft("report", eval_id, "--json")
    assert old_report.returncode == 0 and note("report", "evals report") in old_report.stderr
    assert json.loads(old_report.stdout)["eval"]["id"] == eval_id
    old_resume = redraft("eval", "--resume", eval_id, "--json")
    assert old_resume.returncode == 0, old_resume.stderr
    assert note(f"eval --resume {eval_id}", f"evals resume {eval_id}") in old_resume.stderr
    assert json.loads(old_resume.stdout)["eval"]["status"] == "done"


def test_eval_points_at_the_new_report_command(endpoint: FakeOpenAIServer) -> None:
    result = redraft("eval", "--task", "multiarith", "--limit", "1", "--strategy", "direct",
                     "--base-url", endpoint.base_url, "--model", "m", "--no-cache")
    assert result.returncode == 0, result.stderr
    assert "report: redraft evals report " in result.stdout
    assert_clean_failure(redraft("eval"), 1, "error: give --task")


def raiser(exc: BaseException) -> Any:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise exc
    return boom


@pytest.mark.parametrize("bug", [KeyError("oops"), ValueError("oops")])
def test_a_bug_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch, bug: Exception) -> None:
    monkeypatch.setattr(listing, "strategy_info", raiser(bug))
    result = CliRunner().invoke(app, ["strategies"])
    assert result.exception is bug  # not turned into `error: ...` and exit 1
    assert "error:" not in result.stderr


def test_a_bug_prints_a_traceback_in_a_real_process() -> None:
    code = ("import redraft.cli.listing as listing\n"
            "def boom(cls): raise KeyError('oops')\n"
            "listing.strategy_info = boom\n"
            "from redraft.cli import main\nmain()\n")
    result = subprocess.run([sys.executable, "-c", code, "strategies"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "KeyError: 'oops'" in result.stderr
    assert "error:" not in result.stderr


@pytest.mark.parametrize("failure", [UsageError("bad options"), FileNotFoundError("no such file: x")])
def test_a_user_error_is_one_line(monkeypatch: pytest.MonkeyPatch, failure: Exception) -> None:
    monkeypatch.setattr(listing, "strategy_info", raiser(failure))
    result = CliRunner().invoke(app, ["strategies"])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == f"error: {failure}\n"


def test_a_rejected_config_field_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="timeout_s"):
        validated(ModelConfig, timeout_s="soon")


def test_evals_resume_finishes_an_interrupted_evaluation() -> None:
    broken = {"now": True}

    def respond(body: dict[str, Any]) -> FakeReply:
        return FakeReply(status=401, error_message="bad key") if broken["now"] else FakeReply("4")

    with serve(FakeOpenAIServer(respond=respond)) as server:
        failed = redraft("eval", "--task", "multiarith", "--limit", "2", "--strategy", "direct",
                         "--base-url", server.base_url, "--model", "m", "--no-cache", "--retries", "0")
        assert failed.returncode == 1 and "Traceback" not in failed.stderr
        assert [line for line in failed.stderr.splitlines() if line.startswith("error:")]
        [record] = json.loads(redraft("evals", "list", "--json").stdout)
        broken["now"] = False
        resumed = redraft("evals", "resume", record["id"], "--api-key", "k", "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert "2 of 2 items to run" in resumed.stderr
    assert json.loads(resumed.stdout)["eval"]["status"] == "done"


def test_eval_rejects_options_that_cannot_work() -> None:
    # One line and exit 1, like every other refusal (typer's usage box with exit 2 was several lines).
    assert_clean_failure(redraft("eval", "--task", "multiarith", "--concurrency", "0"), 1,
                         "error: --concurrency must be greater than 0, got 0")
    assert_clean_failure(redraft("eval", "--task", "multiarith", "--limit", "-1"), 1,
                         "error: --limit must be greater than 0, got -1")
    assert_clean_failure(redraft("eval", "--task", "multiarith", "--strategy", ","), 1,
                         "error: give at least one strategy")


def test_tables_print_spec_brackets_as_written(endpoint: FakeOpenAIServer) -> None:
    """Rich reads `[max_rounds=1]` as a style tag and drops it: a table of `self_refine[max_rounds=1]`
    and `self_refine[max_rounds=2]` would show two rows both named `self_refine`."""
    result = redraft("eval", "--task", "multiarith", "--limit", "1", "--strategy",
                     "self_refine[max_rounds=1],self_refine[max_rounds=2]", "--base-url", endpoint.base_url,
                     "--model", "m", "--no-cache")
    assert result.returncode == 0, result.stderr
    assert "self_refine[max_rounds=1]" in result.stdout and "self_refine[max_rounds=2]" in result.stdout
    tasks = redraft("tasks")
    assert "rg:NAME[key=value,...]" in tasks.stdout and "'redraft[gym]'" in tasks.stdout

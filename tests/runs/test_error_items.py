"""One problem never kills an evaluation: a failing item is recorded with its error, counted
apart, and retried by resume; keys and URL credentials go nowhere they should not."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from typing import Any

import pytest

from redraft.cli.options import role_configs
from redraft.report.summary import summarize
from redraft.runs.eval_store import EvalStore
from redraft.runs.evaluation import EvalConfig, Evaluation
from redraft.runs.store import RunStore
from redraft.tasks import MultiArith
from redraft.testing import FakeOpenAIServer, FakeReply, serve

PROBLEMS = MultiArith().load(limit=6)
POISONED = PROBLEMS[2]
REFERENCES = {p.prompt: p.reference for p in PROBLEMS}


def answering(poison: FakeReply | None) -> FakeOpenAIServer:
    """Right on every problem; `poison` (if any) answers every call about POISONED."""
    def respond(body: dict[str, Any]) -> FakeReply:
        prompt = body["messages"][0]["content"]
        if poison is not None and POISONED.prompt in prompt:
            return poison
        return FakeReply(f"The answer is {REFERENCES.get(prompt, '0')}.")
    return FakeOpenAIServer(respond=respond)


def config(server: FakeOpenAIServer, **extra: Any) -> EvalConfig:
    return EvalConfig.model_validate({
        "task": "multiarith", "strategies": ["direct"], "limit": 6, "cache": False,
        "generator": {"model": "fake", "base_url": server.base_url, "max_retries": 1}, **extra})


TOO_LONG = FakeReply(status=400, error_message="context length exceeded")


def test_an_item_whose_calls_keep_failing_is_an_error_item_and_the_evaluation_goes_on(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    with serve(answering(TOO_LONG)) as server:
        evaluation = Evaluation(config(server), store)
        items = asyncio.run(evaluation.run())
    assert len(items) == 6
    [failed] = [i for i in items if i.status == "error"]
    assert failed.problem_id == POISONED.id and "context length exceeded" in (failed.error or "")
    assert all(i.correct for i in items if i.status == "done")
    assert EvalStore(store).get(evaluation.eval_id).status == "done_with_errors"
    # The failed call is in the calls table, with its error.
    errors = store.db.execute("select error from calls where error is not null").fetchall()
    assert len(errors) == 1 and "HTTP 400" in errors[0][0]
    summary, _ = summarize(store, evaluation.eval_id)
    [m] = summary.strategies
    assert (m.n, m.n_errors, m.correct, m.accuracy) == (5, 1, 5, 1.0)  # not 5/6: errors are not wrong
    assert not summary.complete


def test_resume_retries_only_the_error_items(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    with serve(answering(TOO_LONG)) as server:
        first = Evaluation(config(server), store)
        asyncio.run(first.run())
    with serve(answering(None)) as healed:
        stored = EvalStore(store).get(first.eval_id).config
        stored["generator"]["base_url"] = healed.base_url  # the same endpoint, restarted elsewhere
        again = Evaluation(EvalConfig.model_validate(stored), store, eval_id=first.eval_id)
        assert [p.id for _, _, p in again.pending()] == [POISONED.id]
        items = asyncio.run(again.run())
        assert len(healed.requests) == 1
    assert len(items) == 6 and all(i.status == "done" and i.correct for i in items)
    assert EvalStore(store).get(first.eval_id).status == "done"


def test_a_malformed_answer_is_never_scored_as_an_empty_answer(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    with serve(answering(FakeReply(malformed="null_content"))) as server:
        items = asyncio.run(Evaluation(config(server), store).run())
        url = server.base_url
    [failed] = [i for i in items if i.problem_id == POISONED.id]
    assert failed.status == "error" and failed.answer is None
    assert url in (failed.error or "") and "malformed" in (failed.error or "")


def eval_cli(server: FakeOpenAIServer, db: str, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "redraft", "eval", "--task", "multiarith", "--limit", "6",
               "--strategy", "direct", "--model", "fake", "--no-cache", "--retries", "1", "--db", db,
               "--base-url", server.base_url, *extra]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def test_the_cli_exits_non_zero_with_a_one_line_summary_then_resume_finishes(tmp_path) -> None:
    db = str(tmp_path / "r.db")
    with serve(answering(TOO_LONG)) as server:
        done = eval_cli(server, db, "--json")
        assert done.returncode == 1
        summary = json.loads(done.stdout)
        assert summary["strategies"][0]["n_errors"] == 1 and summary["eval"]["status"] == "done_with_errors"
        [line] = [x for x in done.stderr.splitlines() if x.startswith("error:")]
        assert "1 items failed" in line and POISONED.id in line and "evals resume" in line
    eval_id = summary["eval"]["id"]
    with serve(answering(None)) as healed:
        # resume reads the stored endpoint; point the stored config at the healed server
        connection = sqlite3.connect(db)
        row = connection.execute("select config_json from evals").fetchone()
        stored = json.loads(row[0])
        stored["generator"]["base_url"] = healed.base_url
        with connection:
            connection.execute("update evals set config_json=?", (json.dumps(stored),))
        command = [sys.executable, "-m", "redraft", "evals", "resume", eval_id, "--db", db, "--json"]
        resumed = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["strategies"][0]["n"] == 6


def test_url_credentials_and_keys_never_reach_the_store(tmp_path) -> None:
    key, password = "sk-test-abcdef123456", "hunter2secret"
    store = RunStore(tmp_path / "r.db")
    echo = FakeReply(status=400, error_message=f"bad request from key {key} and {password}")
    with serve(answering(echo)) as server:
        url = server.base_url.replace("http://", f"http://alice:{password}@")
        cfg = config(server)
        cfg.generator = cfg.generator.model_copy(update={"base_url": url, "api_key": key})
        items = asyncio.run(Evaluation(cfg, store).run())
        assert server.authorizations[0] is not None  # the credentials did reach the endpoint
    assert any(i.status == "error" for i in items)
    dump = "\n".join(store.db.iterdump())
    assert key not in dump and password not in dump and "alice:" not in dump
    assert "127.0.0.1" in dump  # the endpoint itself is still named


def test_a_critic_on_another_host_does_not_receive_the_generators_key() -> None:
    common = {"model": "gen", "api_key": "sk-generator-key", "critic_model": "crit", "timeout": 5,
              "retries": 0}
    same = role_configs(base_url="http://127.0.0.1:8000/v1", critic_base_url=None, critic_api_key=None,
                        **common)
    assert same["critic"].resolved().api_key == "sk-generator-key"
    other = role_configs(base_url="http://127.0.0.1:8000/v1", critic_base_url="http://10.0.0.9:8000/v1",
                         critic_api_key=None, roles=["judge=j@http://10.0.0.7/v1", "reward=r"], **common)
    assert other["critic"].resolved().api_key is None and other["judge"].resolved().api_key is None
    assert other["reward"].resolved().api_key == "sk-generator-key"  # same host: inherits
    told = role_configs(base_url="http://127.0.0.1:8000/v1", critic_base_url="http://10.0.0.9:8000/v1",
                        critic_api_key="sk-critic", roles=["judge=j@http://10.0.0.7/v1"],
                        role_api_keys=["judge=sk-judge"], **common)
    assert told["critic"].resolved().api_key == "sk-critic"
    assert told["judge"].resolved().api_key == "sk-judge"


def test_resume_gives_the_generators_key_only_to_roles_on_its_host() -> None:
    cfg = EvalConfig.model_validate({
        "task": "multiarith", "strategies": ["direct"],
        "generator": {"model": "g", "base_url": "http://127.0.0.1:8000/v1"},
        "roles": {"critic": {"model": "c", "base_url": "http://10.0.0.9/v1"},
                  "judge": {"model": "j", "base_url": "http://127.0.0.1:8000/v1"}}})
    cfg.with_api_key("sk-generator-key", {"critic": None})
    assert cfg.roles["critic"].resolved().api_key is None
    assert cfg.roles["judge"].resolved().api_key == "sk-generator-key"


def test_the_table_and_the_html_report_show_error_items_apart(tmp_path) -> None:
    from rich.console import Console

    from redraft.report.table import render_table

    store = RunStore(tmp_path / "r.db")
    with serve(answering(TOO_LONG)) as server:
        evaluation = Evaluation(config(server), store)
        asyncio.run(evaluation.run())
    summary, items = summarize(store, evaluation.eval_id)
    console = Console(record=True, width=250)
    render_table(summary, console)
    text = console.export_text()
    assert "5 (+1 errors)" in text and "1 items failed" in text and "100.0%" in text
    pytest.importorskip("jinja2")
    pytest.importorskip("matplotlib")
    from redraft.report.html import render_html

    html = render_html(summary, items, store)
    assert "(+1 errors)" in html and "error, not scored" in html and "context length exceeded" in html

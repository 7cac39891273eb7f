"""Evaluations: scored items, per-round answers, resume after SIGKILL giving identical results."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from typing import Any

import pytest

from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.runs.eval_store import EvalStore
from redraft.runs.evaluation import EvalConfig, Evaluation
from redraft.runs.store import RunStore
from redraft.tasks import MultiArith
from redraft.testing import FakeOpenAIServer, FakeReply, serve

PROBLEMS = MultiArith().load(limit=8)
REFERENCES = {p.prompt: p.reference for p in PROBLEMS}


def digest(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest(), 16)


def scripted_reply(messages: list[dict[str, Any]]) -> str:
    """A deterministic 'model': right on some problems, wrong on others; a critic that varies."""
    first, last = messages[0]["content"], messages[-1]["content"]
    reference = REFERENCES.get(first)
    if "VERDICT" in last:
        return "VERDICT: correct" if digest(last) % 2 else "Check step 2.\nVERDICT: revise"
    if reference is None:
        return "I cannot tell."
    right = digest(last) % 3 == 0 if len(messages) > 1 else digest(first) % 2 == 0
    value = reference if right else str(int(float(reference)) + 1)
    return f"Some reasoning. The answer is {value}."


def test_an_evaluation_scores_every_item_with_per_round_answers(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    config = EvalConfig(task="multiarith", strategies=["direct", "self_refine"], limit=8,
                        params={"max_rounds": 2}, cache=False)
    models = {"generator": ManagedModel(ScriptedModel(scripted_reply))}
    evaluation = Evaluation(config, store, models=models)
    items = asyncio.run(evaluation.run())
    assert len(items) == 16 and EvalStore(store).get(evaluation.eval_id).status == "done"
    for item in items:
        problem = PROBLEMS[item.problem_index]
        assert item.reference == problem.reference
        assert item.correct == (item.answer == problem.reference)
        assert item.round_correct[-1] == item.correct
        assert store.get_run(item.run_id).problem_id == problem.id
    direct = [i for i in items if i.strategy == "direct"]
    assert all(len(i.round_correct) == 1 and i.calls == 1 for i in direct)
    refine = [i for i in items if i.strategy == "self_refine"]
    assert any(len(i.round_correct) > 1 for i in refine)
    # Round 0 of self_refine is the same first draft as direct's answer.
    by_problem = {i.problem_id: i.correct for i in direct}
    assert all(i.round_correct[0] == by_problem[i.problem_id] for i in refine)
    assert evaluation.pending() == []


def test_a_bad_strategy_or_parameter_fails_before_any_call(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    with pytest.raises(ValueError, match="unknown strategy 'nope'"):
        Evaluation(EvalConfig(task="multiarith", strategies=["nope"], limit=1), store)
    with pytest.raises(ValueError, match="unknown feedback source"):
        Evaluation(EvalConfig(task="multiarith", strategies=["self_refine@vibes"], limit=1), store)


def eval_command(server: FakeOpenAIServer, db: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "redraft", "eval", "--task", "multiarith", "--limit", "8",
            "--strategy", "direct,self_refine", "-p", "max_rounds=2", "--base-url", server.base_url,
            "--model", "fake", "--concurrency", "3", "--seed", "7", "--no-cache", "--db", db,
            "--json", *extra]


def results(db: str) -> list[tuple]:
    rows = sqlite3.connect(db).execute(
        "select strategy, problem_id, correct, answer, calls, prompt_tokens, completion_tokens,"
        " details_json from eval_items order by strategy, problem_id")
    return [tuple(r) for r in rows]


def committed(db: str) -> int:
    try:
        return sqlite3.connect(db).execute("select count(*) from eval_items").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM])
def test_sigkill_at_random_points_then_resume_gives_the_uninterrupted_results(tmp_path, signum) -> None:
    """SIGKILL or SIGTERM at random points, then resume: the results of an uninterrupted run.
    A SIGTERM handled (exit 143) leaves nothing `running`: the evaluation and its runs in
    flight are `interrupted`."""
    server_model = FakeOpenAIServer(
        respond=lambda body: FakeReply(scripted_reply(body["messages"]), delay_s=0.03))
    env = {**os.environ, "REDRAFT_CACHE": str(tmp_path / "cache.db")}
    with serve(server_model) as server:
        clean = str(tmp_path / "clean.db")
        done = subprocess.run(eval_command(server, clean), capture_output=True, text=True, env=env,
                              timeout=120)
        assert done.returncode == 0, done.stderr
        expected = results(clean)
        assert len(expected) == 16

        crashed = str(tmp_path / "crashed.db")
        rng = random.Random(1234)
        eval_id = None
        kills = handled = 0
        for _attempt in range(12):
            extra = ("--resume", eval_id) if eval_id else ()
            process = subprocess.Popen(eval_command(server, crashed, *extra), stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, env=env)
            target = committed(crashed) + rng.randint(0, 4)
            deadline = time.monotonic() + 60
            while process.poll() is None and committed(crashed) < target and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.uniform(0, 0.05))
            if process.poll() is None:
                process.send_signal(signum)
                kills += 1
            process.wait(30)
            if process.returncode == 143:  # SIGTERM, handled
                handled += 1
                assert "running" not in {r[0] for r in sqlite3.connect(crashed).execute(
                    "select status from runs union all select status from evals")}
            if eval_id is None:  # killed before it even recorded the evaluation: start afresh
                row = sqlite3.connect(crashed).execute("select id from evals").fetchone()
                eval_id = row[0] if row else None
            if committed(crashed) == 16 and process.returncode == 0:
                break
        else:
            pytest.fail("the evaluation never finished")
        assert kills >= 2
        assert handled >= (1 if signum == signal.SIGTERM else 0)
        assert results(crashed) == expected
        summary = json.loads(process.stdout.read())
        assert summary["eval"]["status"] == "done"


def test_open_ended_evaluations_are_scored_by_the_critic_on_the_checklist(tmp_path) -> None:
    data = tmp_path / "essays.jsonl"
    record = {"prompt": "Write a haiku about rain.", "checklist": ["mentions rain"]}
    data.write_text(json.dumps(record) + "\n")
    store = RunStore(tmp_path / "r.db")
    generator = ScriptedModel(["Rain taps the window"])
    judge = ScriptedModel(["1. yes - it mentions rain"], name="judge")
    evaluation = Evaluation(EvalConfig(task=f"open_ended:{data}", strategies=["direct"], cache=False),
                            store, models={"generator": ManagedModel(generator),
                                           "critic": ManagedModel(judge)})
    [item] = asyncio.run(evaluation.run())
    assert item.correct and item.answer == "1.00"
    assert len(judge.history) == 1 and len(generator.history) == 1

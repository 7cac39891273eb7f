"""Bounded stress: an evaluation of 40 items through ~25% injected upstream faults (429 with
Retry-After, 5xx, dropped connections, replies slower than the timeout, every malformed body)
loses nothing and counts nothing twice. Loopback only; about 40 items, under two minutes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from redraft.runs.eval_store import EvalStore
from redraft.runs.evaluation import EvalConfig, Evaluation
from redraft.runs.store import RunStore
from redraft.tasks import MultiArith
from redraft.testing import FakeOpenAIServer, FakeReply, FaultInjector, serve

PROBLEMS = MultiArith().load(limit=20)
REFERENCES = {p.prompt: p.reference for p in PROBLEMS}
MAX_RESUMES = 3


def right(body: dict[str, Any]) -> FakeReply:
    """A model that is always right, and a critic that always accepts: every fault-free run is
    deterministic, so any loss or double count shows."""
    messages = body["messages"]
    if "VERDICT" in messages[-1]["content"]:
        return FakeReply("Looks right.\nVERDICT: correct")
    return FakeReply(f"The answer is {REFERENCES.get(messages[0]['content'], '0')}.")


def config(base_url: str) -> EvalConfig:
    return EvalConfig.model_validate({
        "task": "multiarith", "strategies": ["direct", "self_refine"], "limit": 20, "cache": False,
        "concurrency": 8, "params": {"max_rounds": 1},
        "generator": {"model": "fake", "base_url": base_url, "timeout_s": 1.0, "max_retries": 4}})


@pytest.mark.slow
def test_an_evaluation_through_injected_faults_loses_nothing_and_counts_nothing_twice(tmp_path) -> None:
    started = time.monotonic()
    injector = FaultInjector(right, rate=0.25, seed=3)
    store = RunStore(tmp_path / "r.db")
    with serve(FakeOpenAIServer(respond=injector, record=False)) as server:
        evaluation = Evaluation(config(server.base_url), store)
        items = asyncio.run(evaluation.run())
        resumes = 0
        while any(i.status == "error" for i in items) and resumes < MAX_RESUMES:
            resumes += 1
            again = Evaluation(config(server.base_url), store, eval_id=evaluation.eval_id)
            items = asyncio.run(again.run())
    elapsed = time.monotonic() - started
    injected = sum(injector.injected.values())
    total = injected + injector.answered
    print(f"\n{total} requests, {injected} faults ({injected / total:.0%}): {dict(injector.injected)}; "
          f"{resumes} resumes; {elapsed:.1f} s")
    assert 0.15 <= injected / total <= 0.35 and len(injector.injected) >= 8  # the faults were varied
    keys = [(i.strategy, i.problem_id) for i in items]
    assert len(keys) == 40 and len(set(keys)) == 40  # nothing lost, nothing twice
    assert all(i.status == "done" and i.correct for i in items), [i.error for i in items if i.error]
    assert EvalStore(store).get(evaluation.eval_id).status == "done"
    rows = store.db.execute("select count(*) from eval_items where eval_id=?", (evaluation.eval_id,))
    assert rows.fetchone()[0] == 40
    # Every scored answer came from a successful call; no failure was scored as an empty answer.
    assert all(i.answer for i in items)
    # Every successful direct item made exactly one successful call, retries folded into attempts.
    for item in items:
        if item.strategy == "direct":
            run = store.get_run(item.run_id or "")
            assert [c.error for c in run.call_records] == [None] and item.calls == 1
    assert elapsed < 120

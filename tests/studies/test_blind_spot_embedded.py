"""`blind_spot` end to end on the real embedded model (SmolLM2-135M): the assistant-prefill path of
llama.cpp continues the corrupted turn, and every problem is accounted for. Not an accuracy test."""

from __future__ import annotations

import asyncio

import pytest

from redraft.models.resolve import ModelConfig
from redraft.runs.eval_store import EvalStore
from redraft.runs.store import RunStore
from redraft.studies import StudyContext, get_study

pytestmark = pytest.mark.slow


def test_blind_spot_runs_on_the_embedded_model(tmp_path) -> None:
    store = RunStore(tmp_path / "runs.db")
    context = StudyContext(
        "multiarith",
        store,
        limit=2,
        generator=ModelConfig(model="local"),
        max_tokens=48,
        seed=0,
        concurrency=1,
    )
    result = asyncio.run(get_study("blind_spot").run(context))
    [eval_id] = result.eval_ids
    [blind, wait, _] = result.findings
    details = blind.details
    assert details["problems"] == 2 and details["paired"] + sum(details["excluded"].values()) == 2
    assert blind.n == wait.n == details["paired"] and "problems are in the paired claims" in result.notes[1]
    # Every own-turn probe that ran was a continuation request, its reply checked and recorded; at
    # seed 0 the second problem's draft has a worked-out number, so some did run.
    continued = 0
    for item in EvalStore(store).items(eval_id):
        assert item.status == "done", item.error
        run = store.get_run(item.run_id or "")
        if "turn=own" in item.strategy and item.stop_reason != "no_corruptible_number":
            assert run.call_records[-1].sampling.get("continue_final") is True
            probe = run.candidates[-1]
            assert probe.kind == "probe" and isinstance(probe.metadata["continued"], bool)
            assert probe.text == probe.metadata["shown"] + probe.metadata["continuation"]
            continued += 1
    assert continued >= 1

"""`redraft replicate adaptive` end to end on the real embedded model (SmolLM2-135M), at a size that
proves the pipeline (fit on 4 problems, test on 4), not the router: the claims stay inconclusive."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from redraft.models.resolve import ModelConfig
from redraft.runs.eval_store import EvalStore
from redraft.runs.store import RunStore
from redraft.studies import StudyContext, get_study

pytestmark = pytest.mark.slow


def test_the_adaptive_study_runs_on_the_embedded_model(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.db")
    context = StudyContext("multiarith", store, limit=8, generator=ModelConfig(model="local"), max_tokens=48,
                           seed=0, concurrency=1)
    result = asyncio.run(get_study("adaptive").run(context))
    fit_id, test_id = result.eval_ids
    for eval_id in (fit_id, test_id):
        assert all(i.status == "done" for i in EvalStore(store).items(eval_id))
    frontier = next(f for f in result.findings if f.claim == "router_on_frontier")
    assert frontier.n == 4 and {p["label"] for p in frontier.details["points"]} == {
        "direct", "self_consistency[k=8]", "self_refine[max_rounds=2]"}
    assert frontier.details["fit_validation"]["problems"] == 4

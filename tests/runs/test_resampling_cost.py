"""Resampling at "equal tokens" is priced at what k samples cost, on an endpoint that answers n
samples in one request (the prompt paid once) as on one that takes separate calls."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from redraft.models.base import Completion, Message
from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.studies import StudyContext, get_study
from tests.studies.scripts import keeps_its_answer, replies, seventy_percent


class NativeN(ScriptedModel):
    """n samples in one request, billed as `OpenAICompatModel.complete_n` bills them
    (src/redraft/models/openai_compat.py:98): the prompt's tokens on the first sample only."""

    async def complete_n(self, messages: list[Message], n: int, **sampling: Any) -> list[Completion]:
        seed = sampling.get("seed")
        out = []
        for i in range(n):
            completion = await self.complete(
                messages, **{**sampling, "seed": None if seed is None else seed + i}
            )
            out.append(completion if i == 0 else completion.model_copy(update={"prompt_tokens": 0}))
        return out


def test_one_resample_costs_at_least_its_prompt(tmp_path: Path) -> None:
    """A review found k samples priced at k/K of all K's tokens, which pro-rates a prompt paid once
    for the whole n-sample request: the k = 1 point cost ~10 tokens where its request's prompt alone
    is ~69, so resampling got a larger k than the repair's tokens would buy."""
    generator = replies(
        seventy_percent, keeps_its_answer, sample_right=lambda index, seed: (index + seed) % 3 != 0
    )
    store = RunStore(tmp_path / "runs.db")
    context = StudyContext(
        "multiarith",
        store,
        limit=10,
        concurrency=1,
        seed=0,
        models={"generator": ManagedModel(NativeN(generator), backoff_s=0.0)},
    )
    result = asyncio.run(get_study("repair_vs_resample").run(context))
    [finding] = result.findings
    curve = finding.details["resampling_curve"]
    # The prompt of each problem's one self-consistency request, as the run store recorded it.
    [done] = context.evaluated
    sc_items = done.items["self_consistency[k=16]"]
    prompt_per_problem = sum(
        call.prompt_tokens for item in sc_items for call in store.get_run(item.run_id or "").call_records
    ) / len(sc_items)
    assert prompt_per_problem > 20  # the setting this test relies on (holds today)
    assert curve[0]["k"] == 1
    assert curve[0]["tokens_per_problem"] >= prompt_per_problem, (
        f"one sample priced at {curve[0]['tokens_per_problem']:.1f} tokens, below its request's prompt "
        f"of {prompt_per_problem:.1f}"
    )


def test_the_cost_of_k_samples_follows_how_they_were_requested() -> None:
    from redraft.runs.eval_store import ItemResult
    from redraft.runs.metrics import ResamplingCost

    def item(calls_by_role: dict[str, int], prompt: int, completion: int) -> ItemResult:
        return ItemResult(strategy="self_consistency[k=4]", problem_id="p", problem_index=0, correct=True,
                          calls=4, prompt_tokens=prompt, completion_tokens=completion,
                          samples=[{"answer": "1", "correct": True}] * 4, calls_by_role=calls_by_role)

    native = ResamplingCost([item({"generator": 1, "judge": 2}, prompt=100, completion=40)])
    assert [native(k) for k in (1, 2, 4)] == [110, 120, 140]  # the prompt once, then 10 a sample
    separate = ResamplingCost([item({"generator": 4}, prompt=400, completion=40)])
    assert [separate(k) for k in (1, 2, 4)] == [110, 220, 440]  # a prompt per call

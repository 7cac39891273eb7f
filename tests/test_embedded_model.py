"""End to end on the real embedded model (SmolLM2-135M through llama.cpp).

The model is weak; these tests check that the pipeline runs for real and that
what it records is consistent, not that the answer is right.
"""

from __future__ import annotations

import json

import pytest

import redraft
from redraft.models.local import LocalModel
from redraft.runs.store import RunStore
from redraft.trace import Verdict
from tests.test_cli import redraft as redraft_cli

pytestmark = pytest.mark.slow

SAMPLING = {"temperature": 0.0, "max_tokens": 48, "seed": 0}


def test_self_refine_end_to_end_on_the_embedded_model(tmp_path) -> None:
    store = RunStore(tmp_path / "runs.db")
    outcome = redraft.refine(
        "What is 17 * 23? Answer with a number.", strategy="self_refine", model="local",
        max_rounds=1, sampling=SAMPLING, store=store,
    )
    assert outcome.stop_reason in {"verdict", "max_rounds"}
    assert outcome.text.strip()
    assert outcome.usage.prompt_tokens > 0 and outcome.usage.completion_tokens > 0
    detail = store.get_run(outcome.run_id)
    assert outcome.usage.calls == len(detail.call_records)
    assert detail.models == {"generator": "local", "critic": "local", "refiner": "local"}
    roles = [c.role for c in detail.call_records]
    # The embedded model constrains replies, so an unreadable critique gets one verdict follow-up.
    follow_up = int(roles[2:3] == ["critic"])
    refines = len(roles) - 2 - follow_up
    assert refines in {0, 1}
    assert roles == ["generator", "critic"] + ["critic"] * follow_up + ["refiner"] * refines
    if follow_up:
        assert detail.call_records[2].sampling["choices"] == ["VERDICT: correct", "VERDICT: revise"]
    assert detail.call_records[1].sampling["max_tokens"] == 768  # the judging floor, not 48
    assert detail.candidates[0].verdict in {Verdict.OK, Verdict.REVISE}  # always readable now


def test_a_constrained_reply_is_one_of_the_choices() -> None:
    import asyncio

    choices = ["VERDICT: correct", "VERDICT: revise"]
    result = asyncio.run(LocalModel().complete(
        [{"role": "user", "content": "Is 2 + 2 = 5? Give your verdict."}], choices=choices, temperature=0.0))
    assert result.text in choices


def test_cli_json_on_the_embedded_model() -> None:
    result = redraft_cli("run", "What is 17 * 23? Answer with a number.", "--max-rounds", "1",
                         "--max-tokens", "48", "--temperature", "0", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["strategy"] == "self_refine" and out["answer"]
    assert out["rounds"][0]["round"] == 0 and out["usage"]["calls"] >= 2


def test_local_model_reports_usage_and_finish_reason() -> None:
    import asyncio

    result = asyncio.run(LocalModel().complete(
        [{"role": "user", "content": "Say hello."}], max_tokens=8, temperature=0.0))
    assert result.completion_tokens <= 8 and result.prompt_tokens > 0
    assert result.finish_reason in {"stop", "length"}

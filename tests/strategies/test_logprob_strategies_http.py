"""ptrue, likelihood, id_sampling and local_refine end to end over real HTTP, against the fake endpoint:
the logprobs are asked for on the wire, come back, and each run reaches an answer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from redraft.api import arefine
from redraft.models.resolve import ModelConfig
from redraft.runs.store import RunStore
from redraft.strategies.base import StrategyError
from redraft.tasks.arithmetic import MultiArith
from redraft.tasks.base import Problem
from redraft.testing import FakeOpenAIServer, FakeReply, serve

PROBLEM = Problem(id="p1", prompt="What is 2 + 2? End with 'The answer is N.'")
#: P(A) = 0.8 among the first token's alternatives.
TRUE_80 = [
    {
        "token": "(A)",
        "logprob": -0.2231,
        "bytes": None,
        "top_logprobs": [
            {"token": "(A)", "logprob": -0.2231, "bytes": None},
            {"token": "(B)", "logprob": -1.6094, "bytes": None},
        ],
    }
]


def respond(body: dict[str, Any]) -> FakeReply:
    prompt = body["messages"][-1]["content"]
    if "Is the proposed answer correct?" in prompt:
        return FakeReply("(A)", logprobs=TRUE_80)
    if "FIRST WRONG STEP" in prompt:
        return FakeReply("FIRST WRONG STEP: 1")
    return FakeReply("2 + 2 = 4. The answer is 4.")


SPECS = {
    "ptrue": {"k": 2},
    "likelihood": {"k": 2},
    "id_sampling": {"n": 2, "b0": 16, "max_budget": 64},
    "local_refine": {"tau": 0.9},
}


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_strategy_answers_through_an_openai_compatible_endpoint(name: str, tmp_path) -> None:
    store = RunStore(tmp_path / "runs.db")
    with serve(FakeOpenAIServer(respond=respond)) as server:
        model = ModelConfig(model="fake-model", base_url=server.base_url, api_key="k")
        outcome = asyncio.run(
            arefine(
                PROBLEM,
                strategy=name,
                model=model,
                store=store,
                task=MultiArith(),
                sampling={"temperature": 0.0, "max_tokens": 64},
                **SPECS[name],
            )
        )
    detail = store.get_run(outcome.run_id or "")
    assert detail.status == "done" and outcome.answer == "4" and outcome.stop_reason
    assert outcome.usage.calls == sum(len(c.texts) or 1 for c in detail.call_records)
    assert len(server.requests) == len(detail.call_records)  # samples go out as one request with n
    asked = [r for r in server.requests if r.get("logprobs")]
    if name == "id_sampling":
        assert not asked  # it needs no logprobs
    else:
        assert asked and all(r["logprobs"] is True for r in asked)
    if name in ("ptrue", "local_refine"):
        scored = [c.score for c in outcome.candidates if c.score is not None]
        assert scored and all(s == pytest.approx(0.8, abs=1e-3) for s in scored)


def test_an_endpoint_that_drops_logprobs_fails_the_run_with_the_reason(tmp_path) -> None:
    def dropping(body: dict[str, Any]) -> FakeReply:
        return FakeReply("(A)", drop_logprobs=True)

    store = RunStore(tmp_path / "runs.db")
    with serve(FakeOpenAIServer(respond=dropping)) as server:
        model = ModelConfig(model="fake-model", base_url=server.base_url, api_key="k")
        with pytest.raises(Exception, match="answered without the token logprobs"):
            asyncio.run(arefine(PROBLEM, strategy="likelihood", model=model, store=store, k=2))
    assert len(server.requests) == 1  # one request with n = 2, not retried, nothing scored by nothing


def test_a_bare_model_without_logprobs_is_refused_before_any_call() -> None:
    class Plain:
        name = "plain"
        endpoint = "custom:plain"
        calls = 0

        async def complete(self, messages: list[Any], **sampling: Any) -> Any:
            Plain.calls += 1
            raise AssertionError("no call should be made")

    with pytest.raises(StrategyError, match="does not return them"):
        asyncio.run(arefine(PROBLEM, strategy="ptrue", model=Plain()))
    assert Plain.calls == 0

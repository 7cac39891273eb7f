"""tournament, rsa, ab_mcts and the new options of best_of_n and mctsr, end to end over real HTTP."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from redraft.api import arefine
from redraft.models.resolve import ModelConfig
from redraft.runs.outcome import Outcome
from redraft.runs.store import RunStore
from redraft.tasks.arithmetic import MultiArith
from redraft.tasks.base import Problem
from redraft.testing import FakeOpenAIServer, FakeReply, serve

PROBLEM = Problem(id="p1", prompt="Tom has 3 apples and buys 1 more. How many apples does he have?")


def respond(body: dict[str, Any]) -> FakeReply:
    last = body["messages"][-1]["content"]
    if "Two solutions to the same problem follow" in last:
        return FakeReply("The second is clearer.\nBEST: 2")
    if "Output a score between -100 and +100" in last:
        return FakeReply("[Analysis] Fine.\n[Score] 40")
    if "Score: N/10" in last:
        return FakeReply("Correct count.\nScore: 7/10\nVERDICT: correct")
    if "We have a weak answer" in last:
        return FakeReply("Say it plainly.\nVERDICT: revise")
    return FakeReply("3 + 1 = 4. The answer is 4.")


#: Each spec and its exact calls: tournament n + n(n-1); rsa N(T+1); ab_mcts 2I;
#: mctsr zero-shot 2 + 4R + k(k-1) for the final tournament over its k = 3 answers.
SPECS = {
    "tournament[n=3]": 3 + 6,
    "best_of_n[n=3,select=tournament]": 3 + 6,
    "rsa[n=3,k=2,rounds=2]": 3 * 3,
    "ab_mcts[iterations=3]": 2 * 3,
    "ab_mcts[iterations=3,multi_model=true]": 2 * 3,
    "mctsr[rollouts=2,init=zero_shot,selection=importance,final=tournament]": 2 + 4 * 2 + 6,
}


@pytest.mark.parametrize("spec", sorted(SPECS))
def test_the_search_strategies_answer_through_an_openai_compatible_endpoint(spec: str, tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    with serve(FakeOpenAIServer(respond=respond, models=["fake-a", "fake-b"])) as server:
        config = ModelConfig(model="fake-a", base_url=server.base_url, api_key="k", max_retries=0)

        async def run() -> Outcome:
            return await arefine(
                PROBLEM,
                strategy=spec,
                model=config,
                task=MultiArith(),
                store=store,
                roles={"refiner": config.model_copy(update={"model": "fake-b"})},
                sampling={"seed": 5},
            )

        outcome = asyncio.run(run())
    detail = store.get_run(outcome.run_id or "")
    assert detail.status == "done" and outcome.answer == "4"
    assert outcome.usage.calls == SPECS[spec] == sum(len(c.texts) or 1 for c in detail.call_records)
    assert all(c.error is None for c in detail.call_records)
    assert {r["model"] for r in server.requests} <= {"fake-a", "fake-b"}

"""The Context: budget reservation, role fallback, and gather's no-orphan guarantee."""

from __future__ import annotations

import asyncio

import pytest

from redraft.context import Budget, BudgetExhausted, Context, gather
from redraft.models.base import ModelError
from redraft.models.scripted import ScriptedModel
from redraft.trace import CallRecord
from tests.helpers import managed


def test_gather_cancels_siblings_and_raises_the_plain_error() -> None:
    finished: list[str] = []

    async def slow() -> str:
        await asyncio.sleep(0.5)
        finished.append("slow")
        return "slow"

    async def broke() -> str:
        raise BudgetExhausted("spent")

    async def go() -> None:
        with pytest.raises(BudgetExhausted):
            await gather(slow(), broke())
        await asyncio.sleep(0.6)

    asyncio.run(go())
    assert finished == []  # the sibling was cancelled, not left running


def test_gather_prefers_a_real_error_over_budget_exhaustion() -> None:
    async def budget() -> None:
        raise BudgetExhausted("spent")

    async def failed() -> None:
        raise ModelError("endpoint down")

    with pytest.raises(ModelError, match="endpoint down"):
        asyncio.run(gather(budget(), failed()))
    assert asyncio.run(gather(asyncio.sleep(0, 1), asyncio.sleep(0, 2))) == [1, 2]


def test_samples_reserve_the_budget_before_calling() -> None:
    model = ScriptedModel(["a", "b", "c", "d"])
    ctx = Context({"generator": managed(model)}, budget=Budget(max_calls=3))
    messages = [{"role": "user", "content": "q"}]
    with pytest.raises(BudgetExhausted):
        asyncio.run(ctx.complete_n("generator", messages, 4))
    assert model.history == []  # nothing was spent on a request the budget could not pay for
    assert [c.text for c in asyncio.run(ctx.complete_n("generator", messages, 3))] == ["a", "b", "c"]


def test_generating_roles_fall_back_to_the_generator_and_judging_roles_to_the_critic() -> None:
    generator, critic = managed(ScriptedModel([])), managed(ScriptedModel([], name="critic"))
    ctx = Context({"generator": generator, "critic": critic})
    assert ctx.model_for("refiner") is generator and ctx.model_for("rewriter") is generator
    for role in ("critic", "asker", "reward", "verifier", "truster", "reviewer", "executor", "judge"):
        assert ctx.model_for(role) is critic, role
    alone = Context({"generator": generator})
    assert alone.model_for("reward") is generator  # no critic: judging roles reach the generator
    reward = managed(ScriptedModel([], name="reward"))
    bound = Context({"generator": generator, "critic": critic, "reward": reward})
    assert bound.model_for("reward") is reward and bound.model_for("asker") is critic


def test_an_unknown_role_is_an_error_not_a_fallback() -> None:
    from redraft.roles import RoleError

    generator = managed(ScriptedModel(["x"]))
    ctx = Context({"generator": generator})
    with pytest.raises(RoleError, match="unknown role 'rewarder'"):
        ctx.model_for("rewarder")
    with pytest.raises(RoleError, match="unknown role 'rewarder'"):
        asyncio.run(ctx.ask("rewarder", "hi"))
    with pytest.raises(RoleError, match="unknown role 'judgee'"):
        Context({"generator": generator, "judgee": generator})


def test_a_batch_with_a_cut_off_sample_is_traced_as_truncated() -> None:
    model = ScriptedModel(["short", "one two three four five six seven eight nine ten"])
    records: list[CallRecord] = []
    ctx = Context({"generator": managed(model)}, listeners=[records.append])
    completions = asyncio.run(ctx.complete_n("generator", [{"role": "user", "content": "q"}], 2,
                                             max_tokens=4))
    assert [c.finish_reason for c in completions] == ["stop", "length"]
    [call] = [r for r in records if isinstance(r, CallRecord)]
    assert call.finish_reason == "length"  # the first sample's "stop" alone would hide the cut one

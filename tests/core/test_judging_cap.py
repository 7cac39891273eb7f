"""Judging calls get a larger `max_tokens` floor, so the line judges put last is not cut off."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from redraft.context import Context
from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.roles import GENERATING_ROLES, JUDGE_MAX_TOKENS, JUDGING_ROLES, sampling_for


def sent(role: str, **defaults: Any) -> dict[str, Any]:
    """The sampling the model received for one call in `role` under context defaults."""
    model = ScriptedModel(["VERDICT: correct"])
    ctx = Context({"generator": ManagedModel(model, backoff_s=0.0)}, sampling=defaults)
    asyncio.run(ctx.ask(role, "judge this"))
    return model.history[0][1]


@pytest.mark.parametrize("role", JUDGING_ROLES)
def test_judging_roles_get_at_least_the_judge_cap(role: str) -> None:
    assert sent(role, max_tokens=256)["max_tokens"] == JUDGE_MAX_TOKENS == 768


@pytest.mark.parametrize("role", GENERATING_ROLES)
def test_generating_roles_keep_their_cap(role: str) -> None:
    assert sent(role, max_tokens=256)["max_tokens"] == 256


def test_a_larger_cap_is_kept_and_the_floor_can_be_changed_but_is_never_sent() -> None:
    assert sent("critic", max_tokens=2000)["max_tokens"] == 2000
    params = sent("critic", max_tokens=256, judge_max_tokens=1024)
    assert params["max_tokens"] == 1024 and "judge_max_tokens" not in params
    assert sent("critic", max_tokens=256, judge_max_tokens=None)["max_tokens"] == 256


def test_no_cap_means_the_models_own_default() -> None:
    assert "max_tokens" not in sampling_for("critic", {"temperature": 0})

"""Small builders shared by tests: run a strategy on scripted models in one line."""

from __future__ import annotations

import asyncio
from typing import Any

from redraft.context import Budget
from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.runs.outcome import Outcome
from redraft.runs.runner import run_strategy
from redraft.runs.store import RunStore
from redraft.strategies.base import Strategy
from redraft.tasks.base import Problem

PROBLEM = Problem(id="p1", prompt="What is 2 + 2?", reference="4")

#: What a strategy cannot run without (an evaluation learns it first), for tests that run every strategy.
REQUIRED_PARAMS: dict[str, dict[str, Any]] = {"metareflection": {"instructions": "1. Check every step."}}


def managed(model: ScriptedModel) -> ManagedModel:
    return ManagedModel(model, backoff_s=0.0)


def run_scripted(
    strategy: Strategy,
    generator: ScriptedModel,
    *,
    critic: ScriptedModel | None = None,
    budget: Budget | None = None,
    store: RunStore | None = None,
    problem: Problem = PROBLEM,
    **kwargs: Any,
) -> Outcome:
    models = {"generator": managed(generator)}
    if critic is not None:
        models["critic"] = managed(critic)
    return asyncio.run(
        run_strategy(strategy, problem, models, budget=budget, store=store, **kwargs)
    )


def roles(outcome_store: RunStore, run_id: str) -> list[str]:
    return [c.role for c in outcome_store.get_run(run_id).call_records]

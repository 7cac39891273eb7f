"""The small public API: `refine` a prompt with a strategy and models per role, get an `Outcome`.

A facade: nothing inside the package imports it. The CLI, the evaluation runner and the
server are thin layers over the same pieces it puts together.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any

from redraft.context import Budget
from redraft.feedback.base import FeedbackSource
from redraft.models.base import Model
from redraft.models.managed import ManagedModel
from redraft.models.resolve import ModelConfig, managed_model
from redraft.report.summary import EvalSummary, summarize
from redraft.roles import check_role
from redraft.runs.evaluation import EvalConfig, Evaluation
from redraft.runs.outcome import Outcome
from redraft.runs.runner import run_strategy
from redraft.runs.store import RunStore
from redraft.strategies.base import Strategy
from redraft.strategies.registry import build_strategy
from redraft.tasks.base import Problem, Task
from redraft.trace import Listener

ModelLike = str | Model | ModelConfig | None

__all__ = ["ModelLike", "aevaluate", "arefine", "as_managed", "build_strategy", "evaluate", "refine"]


def as_managed(model: ModelLike) -> ManagedModel:
    """Accept a model name, a config, a bare model or an already managed one."""
    if isinstance(model, ManagedModel):
        return model
    if model is None or isinstance(model, str):
        return managed_model(ModelConfig(model=model))
    if isinstance(model, ModelConfig):
        return managed_model(model)
    return ManagedModel(model)


async def arefine(
    prompt: str | Problem,
    *,
    strategy: str | Strategy = "self_refine",
    model: ModelLike = None,
    critic_model: ModelLike = None,
    refiner_model: ModelLike = None,
    roles: Mapping[str, ModelLike] | None = None,
    feedback: str | FeedbackSource | None = None,
    task: Task | None = None,
    budget: Budget | None = None,
    sampling: dict[str, Any] | None = None,
    store: RunStore | None = None,
    listeners: Iterable[Listener] = (),
    close_models: bool = True,
    **params: Any,
) -> Outcome:
    """Run `strategy` on `prompt`; extra keyword arguments are the strategy's parameters.

    `roles` binds any declared role to a model (`{"reward": "gpt-4o"}`); `critic_model` and
    `refiner_model` are shorthands for two of them. With a `task`, answers are read with the
    task's extractor (and `feedback="oracle"` can score against the problem's reference).
    """
    problem = prompt if isinstance(prompt, Problem) else Problem(id="prompt", prompt=prompt)
    bound: dict[str, ModelLike] = {"critic": critic_model, "refiner": refiner_model, **(roles or {})}
    models = {"generator": as_managed(model)}
    models |= {check_role(role): as_managed(m) for role, m in bound.items() if m is not None}
    chosen = build_strategy(strategy, feedback, task=task, **params)
    try:
        return await run_strategy(
            chosen, problem, models, budget=budget, sampling=sampling, store=store,
            listeners=listeners, extract=task.extract if task else None,
        )
    finally:
        if close_models:  # callers that still need the models (e.g. to score) close them themselves
            for managed in models.values():
                await managed.aclose()


def refine(prompt: str | Problem, **kwargs: Any) -> Outcome:
    """Synchronous `arefine`, for scripts and notebooks without an event loop."""
    return asyncio.run(arefine(prompt, **kwargs))


async def aevaluate(
    task: str,
    strategies: str | list[str],
    *,
    model: ModelLike = None,
    roles: Mapping[str, ModelLike] | None = None,
    store: RunStore | None = None,
    **options: Any,
) -> EvalSummary:
    """Run `strategies` (a list, or comma-separated specs) on `task` and return the comparison.

    `options` are `EvalConfig` fields: limit, seed, concurrency, budget_calls, budget_tokens,
    temperature, max_tokens, params (shared `-p` parameters), cache. Models given by name or
    config are recorded in the evaluation (so `redraft evals resume` can finish it); model
    objects (a `ScriptedModel`, your own class) are used as they are.
    """
    specs = [s.strip() for s in strategies.split(",")] if isinstance(strategies, str) else list(strategies)
    bound = {"generator": model, **{check_role(r): m for r, m in (roles or {}).items() if m is not None}}
    if all(m is None or isinstance(m, str | ModelConfig) for m in bound.values()):
        configs = {role: m if isinstance(m, ModelConfig) else ModelConfig(model=m)
                   for role, m in bound.items()}
        config = EvalConfig(task=task, strategies=specs, generator=configs.pop("generator"),
                            roles=configs, **options)
        evaluation = Evaluation(config, store or RunStore())
    else:
        managed = {role: as_managed(m) for role, m in bound.items()}
        config = EvalConfig(task=task, strategies=specs, **options)
        evaluation = Evaluation(config, store or RunStore(), models=managed)
    await evaluation.run()
    summary, _ = summarize(evaluation.store, evaluation.eval_id)
    return summary


def evaluate(task: str, strategies: str | list[str], **kwargs: Any) -> EvalSummary:
    """Synchronous `aevaluate`."""
    return asyncio.run(aevaluate(task, strategies, **kwargs))

"""The small public API: `refine` a prompt with a strategy and a model, get an `Outcome`.

The CLI, the evaluation runner and the server are thin layers over this.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from redraft.feedback.base import FeedbackSource
from redraft.feedback.registry import get_feedback
from redraft.models.base import Model
from redraft.models.managed import ManagedModel
from redraft.models.resolve import ModelConfig, managed_model
from redraft.runs.outcome import Outcome
from redraft.runs.runner import run_strategy
from redraft.runs.store import RunStore
from redraft.strategies.base import Strategy, StrategyError, parse_spec, strategy_class
from redraft.strategies.context import Budget, Listener
from redraft.tasks.base import Problem, Task

ModelLike = str | Model | ModelConfig | None


def as_managed(model: ModelLike) -> ManagedModel:
    """Accept a model name, a config, a bare model or an already managed one."""
    if isinstance(model, ManagedModel):
        return model
    if model is None or isinstance(model, str):
        return managed_model(ModelConfig(model=model))
    if isinstance(model, ModelConfig):
        return managed_model(model)
    return ManagedModel(model)


def build_strategy(
    strategy: str | Strategy,
    feedback: str | FeedbackSource | None = None,
    *,
    task: Task | None = None,
    **params: Any,
) -> Strategy:
    """A strategy from a spec such as `best_of_n[n=2]>self_refine@critic` and its parameters.

    Keyword parameters go to the outer (last) stage, under any written in the spec;
    `feedback` may be a source or a spec name (not both it and `@FEEDBACK`).
    """
    if isinstance(strategy, Strategy):
        return strategy
    spec = parse_spec(strategy)
    if spec.feedback is not None and feedback is not None:
        raise StrategyError(f"{strategy!r} names its feedback source; do not also pass one")
    chosen = spec.feedback if spec.feedback is not None else feedback
    source = get_feedback(chosen, task) if isinstance(chosen, str) else chosen
    drafter: Strategy | None = None
    for stage in spec.stages[:-1]:  # drafters share the feedback source
        drafter = strategy_class(stage.name)(feedback=source, drafter=drafter, **stage.params)
    outer = spec.stages[-1]
    return strategy_class(outer.name)(feedback=source, drafter=drafter, **{**params, **outer.params})


async def arefine(
    prompt: str | Problem,
    *,
    strategy: str | Strategy = "self_refine",
    model: ModelLike = None,
    critic_model: ModelLike = None,
    refiner_model: ModelLike = None,
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

    With a `task`, answers are read with the task's extractor (and `feedback="oracle"`
    can score against the problem's reference).
    """
    problem = prompt if isinstance(prompt, Problem) else Problem(id="prompt", prompt=prompt)
    models = {"generator": as_managed(model)}
    if critic_model is not None:
        models["critic"] = as_managed(critic_model)
    if refiner_model is not None:
        models["refiner"] = as_managed(refiner_model)
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

"""Strategies by name, and building one from a spec such as `best_of_n[n=2]>self_refine@critic`.

One place for the spec grammar and the rule that parameters given beside a spec (`-p`,
keyword arguments) go to its outer stage, so the CLI, the evaluator, the server and the
library facade build strategies identically.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel

from redraft.feedback.base import FeedbackSource
from redraft.feedback.registry import get_feedback
from redraft.spec import Registry, SpecError, params_info, parse_component, split_top
from redraft.strategies.base import Composed, Strategy, StrategyError
from redraft.tasks.base import Task

STRATEGIES: Registry[type[Strategy]] = Registry("strategy", "redraft.strategies", StrategyError)
REGISTRY = STRATEGIES  # the first release's name
register = STRATEGIES.register


class StageSpec(BaseModel):
    """One stage of a strategy spec: a strategy name and the parameters written beside it."""

    name: str
    params: dict[str, Any] = {}


class StrategySpec(BaseModel):
    """`best_of_n[n=2]>self_refine[max_rounds=1]@critic`: stages (drafters first) and a feedback spec."""

    stages: list[StageSpec]
    feedback: str | None = None


def parse_spec(spec: str) -> StrategySpec:
    """Parse `NAME[k=v,...]>NAME[...]@FEEDBACK[...]`; values are read as JSON when they parse."""
    body, *rest = split_top(spec, "@")
    if len(rest) > 1:
        raise StrategyError(f"bad strategy spec {spec!r}: at most one @FEEDBACK")
    stages = []
    usage = f"bad strategy spec {spec!r}: use NAME, NAME[k=v,...], A>B or NAME@FEEDBACK"
    for part in split_top(body, ">"):
        if not part.strip():
            raise StrategyError(usage)
        try:
            stage = parse_component(part)
        except SpecError as exc:
            raise StrategyError(f"{exc} ({usage})" if "parameter" not in str(exc) else str(exc)) from None
        if stage.arg is not None:
            raise StrategyError(usage)
        stages.append(StageSpec(name=stage.name, params=stage.params))
    feedback = rest[0].strip() if rest else None
    return StrategySpec(stages=stages, feedback=feedback or None)


def strategy_class(name: str) -> type[Strategy]:
    return STRATEGIES.get(name)


def outer_params(spec: str, params: Mapping[str, Any]) -> dict[str, Any]:
    """The shared parameters (`-p`) that the spec's outer stage has; the others are not its."""
    fields = strategy_class(parse_spec(spec).stages[-1].name).Params.model_fields
    return {key: value for key, value in params.items() if key in fields}


def check_shared_params(specs: Iterable[str], params: Mapping[str, Any]) -> None:
    """A shared parameter no outer stage has is a typo, not something to drop silently."""
    specs = list(specs)
    used = {key for spec in specs for key in outer_params(spec, params)}
    unused = sorted(set(params) - used)
    if unused:
        raise StrategyError(f"no strategy in {', '.join(specs)} has parameter {', '.join(unused)}")


def build_strategy(
    strategy: str | Strategy,
    feedback: str | FeedbackSource | None = None,
    *,
    task: Task | None = None,
    **params: Any,
) -> Strategy:
    """A strategy from a spec such as `best_of_n[n=2]>self_refine@critic` and its parameters.

    Keyword parameters go to the outer (last) stage, under any written in the spec;
    `feedback` may be a source or a feedback spec (not both it and `@FEEDBACK`), and is
    shared by every stage.
    """
    if isinstance(strategy, Strategy):
        return strategy
    spec = parse_spec(strategy)
    if spec.feedback is not None and feedback is not None:
        raise StrategyError(f"{strategy!r} names its feedback source; do not also pass one")
    chosen = spec.feedback if spec.feedback is not None else feedback
    source = get_feedback(chosen, task) if isinstance(chosen, str) else chosen
    built: Strategy | None = None
    for index, stage in enumerate(spec.stages):
        given = {**params, **stage.params} if index == len(spec.stages) - 1 else stage.params
        cls = strategy_class(stage.name)
        current = cls(feedback=source if source is not None else default_source(cls, task), **given)
        if task is not None:
            current.bind_task(task)
        built = current if built is None else Composed(built, current)
    assert built is not None
    return built


def default_source(cls: type[Strategy], task: Task | None) -> FeedbackSource | None:
    """A strategy's declared default scorer built for `task`, so its oracle label is right."""
    default = getattr(cls, "default_feedback", None)
    return get_feedback(default, task) if default else None


def strategy_info(cls: type[Strategy]) -> dict[str, Any]:
    """The facts `redraft strategies` lists: name, paper, summary, roles and parameters."""
    default_feedback = getattr(cls, "default_feedback", None)
    return {"name": cls.name, "paper": cls.paper, "summary": cls.summary, "roles": list(cls.roles),
            "default_feedback": default_feedback, "params": params_info(cls.Params),
            "needs_logprobs": list(cls.needs_logprobs)}

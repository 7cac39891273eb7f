"""What a strategy is, and the registry the CLI, evaluator and server share.

A strategy is a short transcription of its paper: `solve` runs the loop and
returns the final candidate with the reason it stopped. Parameters live in a
pydantic model whose defaults are the paper's, so they can be listed, validated
and recorded with every run.
"""

from __future__ import annotations

import json
import re
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from redraft.feedback.base import FeedbackSource
from redraft.strategies.context import Candidate, Context, Drafter, gather
from redraft.tasks.base import Problem


class StrategyError(ValueError):
    """A strategy name or parameter the user gave is not valid."""


class Final(BaseModel):
    """What `solve` returns: the chosen candidate and why the loop ended."""

    candidate: Candidate | None
    stop_reason: str


class Strategy(ABC):
    """Base of every method. Subclasses set `name`, `paper`, `Params` and `solve`."""

    name: ClassVar[str]
    paper: ClassVar[str]
    summary: ClassVar[str] = ""

    class Params(BaseModel):
        pass

    params: Any  # each strategy narrows this to its own Params
    def __init__(
        self, feedback: FeedbackSource | None = None, *, drafter: Strategy | None = None, **params: Any
    ) -> None:
        unknown = set(params) - set(self.Params.model_fields)
        if unknown:
            valid = ", ".join(self.Params.model_fields) or "none"
            raise StrategyError(f"{self.name} has no parameter {', '.join(sorted(unknown))} (valid: {valid})")
        try:
            self.params = self.Params(**params)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise StrategyError(f"bad parameters for {self.name}: {problems}") from None
        self.feedback = feedback
        self.drafter = drafter

    @property
    def full_name(self) -> str:
        """`a>b` when strategy `a` writes this strategy's first drafts."""
        return f"{self.drafter.full_name}>{self.name}" if self.drafter else self.name

    @abstractmethod
    async def solve(self, problem: Problem, ctx: Context) -> Final:
        """Run the method on one problem."""

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The final-answer rule when the budget cuts the loop short: the last candidate."""
        return candidates[-1] if candidates else None

    @property
    def oracle(self) -> bool:
        own = bool(getattr(self.feedback, "oracle", False))
        return own or (self.drafter is not None and self.drafter.oracle)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.full_name,
            "params": self.params.model_dump(),
            "feedback": getattr(self.feedback, "name", None),
            "drafter": self.drafter.describe() if self.drafter else None,
        }


def as_drafter(inner: Strategy) -> Drafter:
    """Make `inner` the source of another strategy's first drafts: each draft is one run of it."""

    async def drafter(problem: Problem, ctx: Context, n: int) -> list[str]:
        async def one(index: int) -> str:
            stage = inner.name if n == 1 else f"{inner.name}#{index}"
            nested = as_drafter(inner.drafter) if inner.drafter else None
            final = await inner.solve(problem, ctx.child(stage, nested))
            return final.candidate.text if final.candidate else ""

        return list(await gather(*(one(i) for i in range(n))))

    return drafter


REGISTRY: dict[str, type[Strategy]] = {}


def register(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator: make a strategy available by name."""
    REGISTRY[cls.name] = cls
    return cls


class StageSpec(BaseModel):
    """One stage of a strategy spec: a strategy name and the parameters written beside it."""

    name: str
    params: dict[str, Any] = {}


class StrategySpec(BaseModel):
    """`best_of_n[n=2]>self_refine[max_rounds=1]@critic`: stages (drafters first) and a feedback source."""

    stages: list[StageSpec]
    feedback: str | None = None


STAGE = re.compile(r"^\s*([A-Za-z_][\w]*)\s*(?:\[(.*)\])?\s*$")


def parse_spec(spec: str) -> StrategySpec:
    """Parse `NAME[k=v,...]>NAME[...]@FEEDBACK`; values are read as JSON when they parse."""
    body, _, feedback = spec.partition("@")
    stages = []
    for part in body.split(">"):
        match = STAGE.match(part)
        if match is None:
            raise StrategyError(f"bad strategy spec {spec!r}: use NAME, NAME[k=v,...], A>B or NAME@FEEDBACK")
        params: dict[str, Any] = {}
        for pair in filter(None, (p.strip() for p in (match.group(2) or "").split(","))):
            key, sep, raw = pair.partition("=")
            if not sep or not key.strip():
                raise StrategyError(f"bad parameter {pair!r} in {spec!r}: use KEY=VALUE")
            try:
                params[key.strip()] = json.loads(raw)
            except json.JSONDecodeError:
                params[key.strip()] = raw.strip()
        stages.append(StageSpec(name=match.group(1), params=params))
    return StrategySpec(stages=stages, feedback=feedback.strip() or None)


def strategy_class(name: str) -> type[Strategy]:
    if name not in REGISTRY:
        raise StrategyError(f"unknown strategy {name!r}; choose from: {', '.join(sorted(REGISTRY))}")
    return REGISTRY[name]


def strategy_info(cls: type[Strategy]) -> dict[str, Any]:
    """The facts `redraft strategies` lists: name, paper, summary and parameters."""
    params = {
        key: {
            "default": field.default,
            "type": getattr(field.annotation, "__name__", str(field.annotation)),
            "description": field.description or "",
        }
        for key, field in cls.Params.model_fields.items()
    }
    return {"name": cls.name, "paper": cls.paper, "summary": cls.summary, "params": params}

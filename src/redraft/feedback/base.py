"""The one interface every feedback source implements.

A feedback source judges a candidate for a problem: the model itself, another
model, unit tests that run, a program, or (oracle runs only) the reference.
Strategies take it as a parameter, so roles stay separable.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel

from redraft.tasks.base import Problem

if TYPE_CHECKING:
    from redraft.strategies.context import Context


class Verdict(StrEnum):
    """What the judge decided. UNKNOWN means its output could not be parsed."""

    OK = "ok"
    REVISE = "revise"
    UNKNOWN = "unknown"


class Feedback(BaseModel):
    """A judgement: the verdict, an optional score and text the refiner can use."""

    verdict: Verdict
    text: str = ""
    score: float | None = None


class FeedbackSource(Protocol):
    """Judges a candidate. `oracle` is True only for sources that read the reference."""

    name: str
    oracle: bool

    async def judge(self, problem: Problem, candidate: str, ctx: Context) -> Feedback: ...

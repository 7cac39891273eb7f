"""The one interface every feedback source implements.

A feedback source judges a candidate for a problem: the model itself, another
model, unit tests that run, a program, or (oracle runs only) the reference.
Strategies take it as a parameter, so roles stay separable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel

from redraft.tasks.base import Problem, Task
from redraft.trace import Feedback, Verdict  # noqa: F401  (moved to redraft.trace; kept for one release)

if TYPE_CHECKING:
    from redraft.context import Context


class FeedbackSource(Protocol):
    """Judges a candidate. `oracle` is True only for sources that read the reference."""

    name: str
    oracle: bool

    async def judge(self, problem: Problem, candidate: str, ctx: Context) -> Feedback: ...


class Source:
    """What registered sources share: a name, a description, the roles they call, their `Params`.

    `from_params` builds a source from validated spec parameters; oracle sources override it
    to take the task whose reference they read.
    """

    name: str
    oracle: bool = False
    description: ClassVar[str] = ""
    roles: tuple[str, ...] = ()

    class Params(BaseModel):
        pass

    @classmethod
    def from_params(cls, params: BaseModel, task: Task | None) -> Any:
        return cls(**params.model_dump())

"""What a problem is and how a task reads and scores answers.

A task is a value: it loads problems, says how to prompt for one, how to read an
answer out of free text and how to score it against the reference. Strategies
only see `Problem`s and, when they need to compare answers (voting), the task's
`extract`; they never see `score`, so a stop rule cannot peek at the reference.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from pydantic import BaseModel, Field


class TaskError(ValueError):
    """A task cannot be built, loaded or scored; the message says what to fix.

    A ValueError so callers that only know "bad input" still catch it.
    """


class Problem(BaseModel):
    """One thing to solve: the text shown to the model plus what scoring needs."""

    id: str
    prompt: str
    reference: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class Score(BaseModel):
    """The verdict of a task's scorer; keeps the extracted answer apart from the value."""

    correct: bool
    extracted: str | None = None
    reference: str | None = None
    explanation: str = ""


class Task(ABC):
    """A benchmark or user dataset: problems, answer extraction and scoring."""

    name: str = ""
    description: str = ""
    #: What kind of answer `extract` returns: "numeric", "math", "choice", "code" or "text".
    answer_type: str = "text"

    @abstractmethod
    def load(self, limit: int | None = None) -> list[Problem]:
        """Return the task's problems in a stable order (the first `limit` if given)."""

    def extract(self, text: str) -> str | None:
        """Read the final answer out of a model's free text; None when there is none."""
        stripped = text.strip()
        return stripped or None

    def bind_judge(self, model: Any) -> None:  # noqa: B027  (deliberately a no-op by default)
        """Give the task a model to judge answers with; only reference-free tasks need one."""

    @abstractmethod
    async def score(self, problem: Problem, text: str) -> Score:
        """Judge a model's full output for `problem` against its reference."""

    def prompt(self, problem: Problem) -> str:
        """The text to send to the model for `problem` (already built at load time)."""
        return problem.prompt

    def size(self) -> int | None:
        """How many problems `load()` returns; tasks override this when it is cheap."""
        return len(self.load())

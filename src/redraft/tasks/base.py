"""What a problem is and how a task reads and scores answers.

A task is a value: it loads problems, says how to prompt for one, how to read an
answer out of free text and how to score it against the reference. Strategies
only see `Problem`s and, when they need to compare answers (voting), the task's
`extract`; they never see `score`, so a stop rule cannot peek at the reference.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from redraft.errors import RedraftError
from redraft.spec import Registry
from redraft.trace import Feedback, Verdict


class TaskError(RedraftError, ValueError):
    """A task cannot be built, loaded or scored; the message says what to fix.

    A ValueError so callers that only know "bad input" still catch it.
    """


#: Metadata keys only the scorer and oracle feedback may read (HumanEval's hidden grading `test`).
#: One list for every task, so a new task's hidden data is private by writing it under one of them.
#: A planted rubric flaw's word and counterfactual edits are measurements' (hack rate, counterfactual
#: faithfulness): a strategy told them could game the measurement.
PRIVATE_METADATA: frozenset[str] = frozenset({"test", "hidden_tests", "canonical_solution",
                                              "planted_word", "counterfactuals"})


class Problem(BaseModel):
    """One thing to solve: the text shown to the model plus what scoring needs."""

    id: str
    prompt: str
    reference: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    def public(self) -> Problem:
        """What a strategy may see: no reference and no private metadata.

        The runner hands strategies only this view, so no stop rule or prompt can read the
        answer; the full problem reaches the scorer and oracle feedback sources alone.
        """
        kept = {k: v for k, v in self.metadata.items() if k not in PRIVATE_METADATA}
        return Problem(id=self.id, prompt=self.prompt, reference=None, metadata=kept)

    def with_private(self, full: Problem) -> Problem:
        """This (public, possibly rewritten) problem with `full`'s reference and private metadata back.

        Oracle sources judge a child problem (Self-Polish's rewrite) against the original's answer.
        """
        hidden = {k: v for k, v in full.metadata.items() if k in PRIVATE_METADATA}
        return self.model_copy(update={"reference": full.reference,
                                       "metadata": {**self.metadata, **hidden}})


class Score(BaseModel):
    """The verdict of a task's scorer; keeps the extracted answer apart from the value."""

    correct: bool
    extracted: str | None = None
    reference: str | None = None
    explanation: str = ""


class Task(ABC):
    """A benchmark or user dataset: problems, answer extraction and scoring.

    A task that has no reference (open-ended prompts) declares a `judge`: the spec of the
    feedback source that grades it. It makes no model call itself: the runner
    (`redraft.runs.scoring`) runs that judge, traced, in the `judge` role, and hands the
    judgement to `from_judgement`.
    """

    name: str = ""
    description: str = ""
    #: What kind of answer `extract` returns: "numeric", "math", "choice", "code" or "text".
    answer_type: str = "text"
    #: Whether the spec carries a path (`jsonl:PATH`), and what listings call that argument.
    needs_path: ClassVar[bool] = False
    arg_name: ClassVar[str] = "PATH"
    #: A family whose spec parameters are checked by the task itself (`from_raw_spec`), not `Params`:
    #: reasoning-gym's datasets each have their own config.
    open_params: ClassVar[bool] = False
    #: The feedback source that grades a model-graded task, as listed (None: `score` uses a reference).
    graded_by: ClassVar[str | None] = None
    #: Which split of a public benchmark the problems are ("test": training on them contaminates
    #: every later evaluation on it, which an export warns about); None for a user's own file.
    split: ClassVar[str | None] = None

    @property
    def judge(self) -> str | None:
        """The full feedback spec the runner grades this task's answers with (None: no judge)."""
        return None

    class Params(BaseModel):
        pass

    @classmethod
    def from_spec(cls, arg: str | None, params: BaseModel) -> Task:
        """The task a spec names: `arg` is the path of a path task, validated `params` the rest."""
        if cls.needs_path:
            if not arg:
                raise TaskError(f"task {cls.name!r} needs a file: use {cls.name}:PATH")
            return cls(arg, **params.model_dump())  # type: ignore[call-arg]
        if arg is not None:
            raise TaskError(f"task {cls.name!r} takes no path (got {cls.name}:{arg})")
        return cls(**params.model_dump())

    @classmethod
    def from_raw_spec(cls, arg: str | None, params: dict[str, Any]) -> Task:
        """The task of an `open_params` family, its parameters as the spec wrote them."""
        raise NotImplementedError

    def with_seed(self, seed: int | None) -> Task:
        """This task drawn with an evaluation's `--seed` (a generated task whose spec names no seed
        of its own); a fixed dataset has nothing to draw and is returned as it is."""
        return self

    @abstractmethod
    def load(self, limit: int | None = None) -> list[Problem]:
        """Return the task's problems in a stable order (the first `limit` if given)."""

    def extract(self, text: str) -> str | None:
        """Read the final answer out of a model's free text; None when there is none."""
        stripped = text.strip()
        return stripped or None

    @abstractmethod
    async def score(self, problem: Problem, text: str) -> Score:
        """Judge a model's full output for `problem` against its reference."""

    def from_judgement(self, problem: Problem, judgement: Feedback) -> Score:
        """The score a model-graded task gives a judged answer: right when the judge says ok."""
        if judgement.verdict is Verdict.UNKNOWN:
            return Score(correct=False,
                         explanation=f"the judge's verdict could not be read: {judgement.text}")
        return Score(correct=judgement.verdict is Verdict.OK,
                     extracted=None if judgement.score is None else f"{judgement.score:.2f}",
                     explanation=judgement.text)

    def hacked(self, problem: Problem, text: str) -> bool | None:
        """Whether `text` exploits a flaw planted in `problem`'s rubric (None: nothing is planted).

        Deterministic, run after the strategy like `score` (see `redraft.tasks.rubric`).
        """
        return None

    def prompt(self, problem: Problem) -> str:
        """The text to send to the model for `problem` (already built at load time)."""
        return problem.prompt

    def size(self) -> int | None:
        """How many problems `load()` returns; tasks override this when it is cheap."""
        return len(self.load())


TASKS: Registry[type[Task]] = Registry(
    "task", "redraft.tasks", TaskError,
    show=lambda name, cls: f"{name}:{cls.arg_name}" if cls.needs_path else name)
register = TASKS.register

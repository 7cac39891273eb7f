"""Oracle feedback: the task's own scorer, which reads the reference answer.

It exists only to measure an upper bound (Huang et al.'s "oracle" setting, where
the loop stops once the answer is right). Any run that uses it is marked
`oracle=true` in the run store and every report. The feedback text says only
right or wrong: the reference itself is never shown to the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

from redraft.feedback.base import Source
from redraft.feedback.registry import FeedbackError, register
from redraft.tasks.base import Problem, Task, TaskError
from redraft.trace import Feedback, Verdict

if TYPE_CHECKING:
    from redraft.context import Context


@register
class OracleFeedback(Source):
    """Judges a candidate by scoring it against the reference."""

    name = "oracle"
    oracle = True
    description = "the task's scorer against the reference (upper bound only)"

    def __init__(self, task: Task) -> None:
        self.task = task

    @classmethod
    def from_params(cls, params: BaseModel, task: Task | None) -> OracleFeedback:
        if task is None:
            raise FeedbackError("oracle feedback needs a task with reference answers (--task)")
        return cls(task)

    async def judge(self, problem: Problem, candidate: str, ctx: Context | None = None) -> Feedback:
        if ctx is not None:  # strategies hold the public view; the oracle reads the full problem
            problem = ctx.oracle_view(problem)
        if problem.reference is None and not problem.metadata.get("test"):
            raise TaskError(f"oracle feedback needs a reference answer; problem {problem.id} has none")
        score = await self.task.score(problem, candidate)
        if score.correct:
            return Feedback(verdict=Verdict.OK, score=1.0, text="The answer is correct.")
        return Feedback(verdict=Verdict.REVISE, score=0.0, text="The answer is incorrect.")

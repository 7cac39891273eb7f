"""Oracle feedback: the task's own scorer, which reads the reference answer.

It exists only to measure an upper bound (Huang et al.'s "oracle" setting, where
the loop stops once the answer is right). Any run that uses it is marked
`oracle=true` in the run store and every report. The feedback text says only
right or wrong: the reference itself is never shown to the model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from redraft.feedback.base import Feedback, Verdict
from redraft.tasks.base import Problem, Task, TaskError

if TYPE_CHECKING:
    from redraft.strategies.context import Context


class OracleFeedback:
    """Judges a candidate by scoring it against the reference."""

    name = "oracle"
    oracle = True

    def __init__(self, task: Task) -> None:
        self.task = task

    async def judge(self, problem: Problem, candidate: str, ctx: Context | None = None) -> Feedback:
        if problem.reference is None and not problem.metadata.get("test"):
            raise TaskError(f"oracle feedback needs a reference answer; problem {problem.id} has none")
        score = await self.task.score(problem, candidate)
        if score.correct:
            return Feedback(verdict=Verdict.OK, score=1.0, text="The answer is correct.")
        return Feedback(verdict=Verdict.REVISE, score=0.0, text="The answer is incorrect.")

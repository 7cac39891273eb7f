"""Scoring answers after a run: by the task's own scorer, or by its judge for model-graded tasks.

A task makes no model call. A model-graded task declares its judge (a feedback spec); this
module runs it in a traced context in the `judge` role, at the evaluation's sampling
(temperature 0 and a fixed `max_tokens`, so it is cacheable and repeatable), writes its calls
into the run's trace, and keeps its usage apart from the method's cost: what a grader spends
is not what the method spent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from redraft.context import Budget, Context, Ledger
from redraft.feedback.registry import get_feedback
from redraft.models.base import Usage
from redraft.models.managed import ManagedModel
from redraft.runs.store import RunStore
from redraft.tasks.base import Problem, Score, Task, TaskError
from redraft.trace import Listener

JUDGE_SAMPLING: dict[str, Any] = {"temperature": 0.0, "max_tokens": 512}


def judge_of(models: Mapping[str, ManagedModel]) -> ManagedModel:
    """The model that grades a model-graded task: the `judge` role's, with its fallbacks."""
    return Context(models).model_for("judge")


class Scorer:
    """Scores one task's answers; each text is scored once per scorer (the same text, the same score).

    `judge` is the model a model-graded task is graded by (the `judge` role's binding, else
    the critic's, else the generator's: the caller decides and the report says which).
    """

    def __init__(
        self,
        task: Task,
        judge: ManagedModel | None = None,
        *,
        sampling: Mapping[str, Any] | None = None,
        listeners: Iterable[Listener] = (),
        first_seq: int = 0,
    ) -> None:
        self.task = task
        self.source = get_feedback(task.judge, task) if task.judge else None
        if self.source is not None and judge is None:
            raise TaskError(f"{task.name} is graded by a judge model ({task.judge}); none is bound")
        self.ctx: Context | None = None
        if self.source is not None and judge is not None:
            ledger = Ledger(Budget(), list(listeners), first_seq=first_seq)
            self.ctx = Context({"generator": judge}, sampling={**JUDGE_SAMPLING, **(sampling or {})},
                               ledger=ledger, stage="scoring")
        self._scores: dict[tuple[str, str], Score] = {}
        self._run: tuple[RunStore, str] | None = None

    @classmethod
    def for_run(
        cls,
        task: Task,
        models: Mapping[str, ManagedModel],
        *,
        store: RunStore | None = None,
        run_id: str | None = None,
        sampling: Mapping[str, Any] | None = None,
    ) -> Scorer:
        """The scorer of one run's answers: graded by the `judge` role's model (falling back to
        the critic's, then the generator's), its calls traced into the run after the method's."""
        judge = judge_of(models) if task.judge else None
        if store is None or run_id is None:
            return cls(task, judge, sampling=sampling)
        scorer = cls(task, judge, sampling=sampling, listeners=[store.listener(run_id)],
                     first_seq=store.last_seq(run_id))
        scorer._run = (store, run_id)
        return scorer

    def save_usage(self) -> None:
        """Record what grading cost on the run, apart from the method's usage."""
        if self._run is not None and self.usage.calls:
            store, run_id = self._run
            store.set_judge_usage(run_id, self.usage)

    @property
    def usage(self) -> Usage:
        """What grading has cost so far (zero for tasks scored against a reference)."""
        return self.ctx.usage if self.ctx is not None else Usage()

    async def score(self, problem: Problem, text: str) -> Score:
        key = (problem.id, text)
        if key not in self._scores:
            if self.source is None or self.ctx is None:
                self._scores[key] = await self.task.score(problem, text)
            else:
                judgement = await self.source.judge(problem, text, self.ctx)
                self._scores[key] = self.task.from_judgement(problem, judgement)
        return self._scores[key]

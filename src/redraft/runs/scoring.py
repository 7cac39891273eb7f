"""Scoring answers after a run: by the task's own scorer, or by its judge for model-graded tasks.

A task makes no model call. A model-graded task declares its judge (a feedback spec); this
module runs it in a traced context in the `judge` role, at the evaluation's sampling
(temperature 0 and a fixed `max_tokens`, so it is cacheable and repeatable), writes its calls
into the run's trace, and keeps its usage apart from the method's cost: what a grader spends
is not what the method spent. `HeldOutJudge` is the same arrangement for a measurement rather
than a grade: a feedback source scoring each round's answer after the run (`EvalConfig.held_out`).
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

    def save_usage(self, extra: Usage | None = None) -> None:
        """Record what grading cost on the run (with `extra`: a held-out judge's), apart from the
        method's usage."""
        total = self.usage if extra is None else Usage.total([self.usage, extra])
        if self._run is not None and total.calls:
            store, run_id = self._run
            store.set_judge_usage(run_id, total)

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


def held_out_judge_of(models: Mapping[str, ManagedModel]) -> ManagedModel:
    """The held-out judge's model: the `judge` role's binding, else the generator's. Never the
    critic's: a held-out judge that fell back to the in-loop critic would not be held out."""
    return models.get("judge") or models["generator"]


class HeldOutJudge:
    """Scores a run's answers after it ended, round by round, with a feedback source in a fresh
    context (`EvalConfig.held_out`): the held-out judge the `reward_hacking` study compares the
    in-loop critic with.

    It runs like the grader of a model-graded task: after the strategy has finished (so it can
    never steer the run), at temperature 0 (cacheable), its calls traced into the run under the
    stage `held_out` in the judge's model, and its usage counted apart from the method's cost. Each
    distinct text is scored once. A judgement without a score scores None.
    """

    def __init__(
        self,
        spec: str,
        task: Task,
        judge: ManagedModel,
        *,
        problem: Problem | None = None,
        sampling: Mapping[str, Any] | None = None,
        listeners: Iterable[Listener] = (),
        first_seq: int = 0,
    ) -> None:
        self.spec = spec
        self.source = get_feedback(spec, task)
        ledger = Ledger(Budget(), list(listeners), first_seq=first_seq)
        self.ctx = Context({"generator": judge}, sampling={**JUDGE_SAMPLING, **(sampling or {})},
                           ledger=ledger, stage="held_out", full_problem=problem)
        self._scores: dict[tuple[str, str], float | None] = {}

    @classmethod
    def for_run(
        cls,
        spec: str,
        task: Task,
        models: Mapping[str, ManagedModel],
        problem: Problem,
        *,
        store: RunStore | None = None,
        run_id: str | None = None,
        sampling: Mapping[str, Any] | None = None,
    ) -> HeldOutJudge:
        """The held-out judge of one run (see `held_out_judge_of`), traced after all its records."""
        judge = held_out_judge_of(models)
        if store is None or run_id is None:
            return cls(spec, task, judge, problem=problem, sampling=sampling)
        return cls(spec, task, judge, problem=problem, sampling=sampling,
                   listeners=[store.listener(run_id)], first_seq=store.last_seq(run_id))

    @property
    def usage(self) -> Usage:
        return self.ctx.usage

    async def score(self, problem: Problem, text: str) -> float | None:
        key = (problem.id, text)
        if key not in self._scores:
            self._scores[key] = (await self.source.judge(problem.public(), text, self.ctx)).score
        return self._scores[key]

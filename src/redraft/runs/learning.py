"""Offline learning before an evaluation: a strategy learns on a labelled training split, never the test one.

MetaReflection learns instructions from a training split (`metareflection[train=jsonl:train.jsonl]`,
`Strategy.learning_task`). `redraft eval` runs that learning once per strategy spec, before any of
its items, in the calibration slot (`Evaluation.calibration`), so it is recorded, reused and paid
for exactly as a calibration is:

1. the training task is loaded (its first `train_limit` problems) and checked against the
   evaluated problems: a training problem whose question is also evaluated (same text, spaces and
   case aside) is a `LearningError`, before any model call (`Evaluation` checks it when built);
2. the last `validation` share (at least one) becomes the validation part, the rest the training
   part; the strategy's `learn` runs over them as one run in the store (stop reason "learning"),
   every call traced, answers graded by the training task's scorer with the full (labelled)
   problems: the strategy sees public problems only, the grade comes back as a `Score`;
3. what it learned (`{"instructions": ...}`) is recorded with the evaluation as its `Calibration`
   (with `learning`: sizes, batches kept, validation accuracy), each item is built with it, and
   its calls and tokens, grading calls of a model-graded training task included, are added to
   the strategy's cost in the report. `evals resume` reads it back and never learns again.

The pass's budget is the evaluation's per-problem budget times the number of training problems
(no budget: none); a cut keeps the instructions kept before it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from redraft.context import Budget, Context
from redraft.errors import RedraftError
from redraft.models.managed import ManagedModel
from redraft.routing.policy import question_digest
from redraft.runs.calibration import Calibration, CalibrationError
from redraft.runs.runner import run_strategy
from redraft.runs.scoring import Scorer, judge_of
from redraft.strategies.base import Final, Strategy
from redraft.tasks.base import Problem, Score
from redraft.tasks.registry import get_task
from redraft.trace import CallRecord, Candidate, Event


class LearningError(RedraftError, ValueError):
    """A training split that cannot be learned on: it overlaps the evaluated problems, or is too small."""


def question_key(problem: Problem) -> str:
    """What makes two problems the same question, whatever task template wrapped it."""
    text = problem.metadata.get("question") or problem.metadata.get("task") or problem.prompt
    return " ".join(str(text).split()).casefold()


def check_disjoint(
    spec: str, train_spec: str, training: Sequence[Problem], evaluated: Sequence[Problem]
) -> None:
    """Refuse a training split that holds any evaluated problem: learning on the test set inflates it."""
    evaluated_keys = {question_key(p): p.id for p in evaluated}
    shared = [(p.id, evaluated_keys[question_key(p)]) for p in training if question_key(p) in evaluated_keys]
    if shared:
        shown = ", ".join(f"{train} = {tested}" for train, tested in shared[:3])
        raise LearningError(
            f"{spec}: {len(shared)} of the {len(training)} training problems of {train_spec} are among the "
            f"evaluated problems ({shown}{', ...' if len(shared) > 3 else ''}); it must never learn from the "
            "problems it is evaluated on: remove them from the training split"
        )


def training_problems(strategy: Strategy, spec: str) -> tuple[str, list[Problem], Any]:
    """(training task spec, its problems, the task), checked to be labelled and large enough to split."""
    train_spec = strategy.learning_task()
    if train_spec is None:
        raise LearningError(f"{spec} has no training split to learn on")
    task = get_task(train_spec)
    problems = task.load(getattr(strategy.params, "train_limit", None))
    if len(problems) < 2:
        raise LearningError(
            f"{spec}: the training split {train_spec} has {len(problems)} problem(s); learning "
            "needs at least 2 (one to learn on, one to validate)"
        )
    if task.judge is None and any(p.reference is None for p in problems):
        raise LearningError(
            f"{spec}: the training split {train_spec} has problems without a reference; learning needs labels"
        )
    return train_spec, problems, task


def check_training_split(strategy: Strategy, spec: str, evaluated: Sequence[Problem]) -> None:
    """Before an evaluation spends anything: the training split loads, is labelled and is disjoint;
    and a strategy learned offline (a policy file) is not evaluated on any problem it learned from."""
    learned = strategy.trained_on()
    if learned:
        shared = [p.id for p in evaluated if question_digest(question_key(p)) in learned]
        if shared:
            raise LearningError(
                f"{spec}: {len(shared)} of the {len(evaluated)} evaluated problems were among those it was "
                f"trained on ({', '.join(shared[:3])}{', ...' if len(shared) > 3 else ''}); a router must "
                "never be evaluated on the problems it learned from: evaluate it on a disjoint split "
                "(`redraft eval --offset N`)")
    if strategy.learning_task() is not None:
        train_spec, problems, _ = training_problems(strategy, spec)
        check_disjoint(spec, train_spec, problems, evaluated)


def split(problems: list[Problem], share: float) -> tuple[list[Problem], list[Problem]]:
    """(training part, validation part): the last `share` of the problems (at least one) validate."""
    held = min(len(problems) - 1, max(1, round(len(problems) * share)))
    return problems[:-held], problems[-held:]


class LearningPass(Strategy):
    """A strategy's offline learning, run (and traced) as one run of its own."""

    name = "learning"
    paper = "the offline learning of the strategy it wraps"

    def __init__(
        self,
        inner: Strategy,
        train: list[Problem],
        validation: list[Problem],
        grade: Callable[[Problem, str], Any],
    ) -> None:  # noqa: D107
        self.inner = inner
        self.params = inner.params
        self.feedback = inner.feedback
        self.train, self.validation, self.grade = train, validation, grade
        self.learned: dict[str, Any] = {}

    @property
    def full_name(self) -> str:
        return f"{self.inner.full_name} (learning)"

    def all_roles(self) -> tuple[str, ...]:
        return self.inner.all_roles()

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        await self.inner.learn(
            [p.public() for p in self.train],
            [p.public() for p in self.validation],
            ctx,
            self.grade,
            self.learned,
        )
        return Final(candidate=self.select(ctx.candidates), stop_reason="learning")

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        return self.inner.select(candidates)

    def describe(self) -> dict[str, Any]:
        return {**self.inner.describe(), "name": self.full_name, "learning_pass": True}


async def learn(
    spec: str,
    build: Callable[[], Strategy],
    problems: Sequence[Problem],
    models: Mapping[str, ManagedModel],
    *,
    limit: asyncio.Semaphore,
    error_text: Callable[[Exception], str],
    **run_options: Any,
) -> Calibration:
    """Run `build()`'s learning on its training split (checked disjoint from `problems`) and return
    what it learned as the evaluation's calibration record; `run_options` go to `run_strategy`."""
    strategy = build()
    train_spec, training, task = training_problems(strategy, spec)
    check_disjoint(spec, train_spec, training, problems)
    train, validation = split(training, getattr(strategy.params, "validation", 0.25))
    full = {p.id: p for p in training}
    sampling = run_options.get("sampling") or {}
    scorer = Scorer(
        task,
        judge_of(models) if task.judge else None,  # judge calls: counted, not traced
        sampling={"temperature": 0.0, "max_tokens": sampling.get("max_tokens", 512)},
    )

    async def grade(problem: Problem, text: str) -> Score:
        return await scorer.score(full[problem.id], text)

    calls: list[CallRecord] = []

    def count(event: Event) -> None:
        if isinstance(event, CallRecord) and event.error is None:
            calls.append(event)

    options = dict(run_options)
    budget: Budget = options.pop("budget", None) or Budget()
    options["budget"] = Budget(
        max_calls=None if budget.max_calls is None else budget.max_calls * len(training),
        max_tokens=None if budget.max_tokens is None else budget.max_tokens * len(training),
    )
    learning = LearningPass(strategy, train, validation, grade)
    pseudo = Problem(
        id=f"learning:{train_spec}",
        prompt=f"{spec}: learn on {train_spec} ({len(train)} training, "
        f"{len(validation)} validation problems)",
    )
    async with limit:
        try:
            outcome = await run_strategy(learning, pseudo, models, listeners=[count], **options)
        except Exception as exc:  # noqa: BLE001 - every item of the spec fails with this, no guess is made
            raise CalibrationError(
                f"{spec}: the learning pass on {train_spec} failed: {error_text(exc)}"
            ) from exc
    if "params" not in learning.learned:
        raise CalibrationError(
            f"{spec}: the learning pass on {train_spec} learned nothing (stopped: "
            f"{outcome.stop_reason}); not run with guessed instructions"
        )
    graded = scorer.usage
    return Calibration(
        params=learning.learned["params"],
        samples=len(training),
        problems=len(training),
        calls=sum(max(1, len(c.texts)) for c in calls) + graded.calls,
        prompt_tokens=sum(c.prompt_tokens for c in calls) + graded.prompt_tokens,
        completion_tokens=sum(c.completion_tokens for c in calls) + graded.completion_tokens,
        run_ids=[outcome.run_id] if outcome.run_id else [],
        learning={
            "train_task": train_spec,
            "stop_reason": outcome.stop_reason,
            **learning.learned["summary"],
        },
    )

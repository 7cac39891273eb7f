"""Runs strategies over a task's problems, scores them, and commits each result as it lands.

Every (strategy, problem) item is independent: items run concurrently under one
limit, and each is committed to the run store when it finishes, so a crash or
Ctrl-C loses only what was in flight and `resume` runs exactly what is missing.
An item that fails for good (its calls keep failing, a 400, a malformed body) is saved as an
error item with its error and the evaluation goes on; it ends "done_with_errors", the report
counts such items apart, and `resume` retries only them. Scoring happens after a strategy
has finished, so it can never steer a run; a model-graded task's judge calls are traced into
the same run, in the `judge` role, and counted apart from the method's cost.

A strategy spec with a parameter measured over the whole evaluation (`magicore[min_confidence=
dataset]`) is calibrated first: its calibration phase runs on every problem, the result is
recorded in the stored config (`EvalConfig.calibration`) and every item of that spec runs with
it; resume reuses the recorded value (see `redraft.runs.calibration`). A strategy that learns
offline (`metareflection[train=...]`) learns there instead, on its own training split, checked
disjoint from the evaluated problems when the evaluation is built (`redraft.runs.learning`).

After scoring, two probes run where the task asks for them: whether each round's answer exploits a
planted rubric flaw (`Task.hacked`), and the counterfactual faithfulness test, which runs the
strategy again on each edited input, as runs of their own, outside the item's cost
(`redraft.runs.counterfactual`). With `EvalConfig.held_out`, a held-out judge scores every round.

What one item does is `redraft.runs.items.ItemRunner`; where the items run is the executor's
(`redraft.runs.executor`): this process by default, a Ray cluster with `--executor ray`. This
module keeps what is the evaluation's whatever runs it: its row and lease, the pending set,
the recorded calibration, the commit of each item.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from redraft.errors import RedraftError
from redraft.feedback.registry import get_feedback
from redraft.models.managed import ManagedModel
from redraft.runs.calibration import Calibration, CalibrationError, measure
from redraft.runs.eval_config import EvalConfig
from redraft.runs.eval_store import EvalStore, ItemResult
from redraft.runs.executor import Executor, LocalExecutor
from redraft.runs.items import ItemRunner, build_models
from redraft.runs.learning import check_training_split, learn
from redraft.runs.owner import current as owner_of_this_process
from redraft.runs.store import RunStore
from redraft.strategies.base import Strategy
from redraft.strategies.registry import check_shared_params
from redraft.tasks.base import Problem, Task, TaskError
from redraft.tasks.registry import get_task

__all__ = ["EvalConfig", "EvalInterrupted", "Evaluation"]


def load_problems(task: Task, offset: int, limit: int | None) -> list[Problem]:
    """The task's problems `offset` .. `offset + limit - 1` (all after `offset` without a limit)."""
    problems = task.load(None if limit is None else offset + limit)[offset:]
    if not problems:
        raise TaskError(f"{task.name} has no problems after the first {offset} (offset {offset})")
    return problems


class EvalInterrupted(RedraftError, RuntimeError):
    """A model error stopped the evaluation; finished items are kept and it can be resumed."""


class Evaluation:
    """One evaluation: its config, task, models and store; `run()` does what is missing."""

    def __init__(
        self,
        config: EvalConfig,
        store: RunStore,
        *,
        eval_id: str | None = None,
        on_item: Callable[[ItemResult], None] | None = None,
        models: dict[str, ManagedModel] | None = None,
        executor: Executor | None = None,
    ) -> None:
        self.config = config
        self._models = models
        self.store = store
        self.evals = EvalStore(store)
        self.task: Task = get_task(config.task).with_seed(config.seed)
        self.problems: list[Problem] = load_problems(self.task, config.offset, config.limit)
        check_shared_params(config.strategies, config.params)
        #: What one item does, whichever executor runs it.
        self.runner = ItemRunner(config, self.task, store)
        for spec in config.strategies:  # fail on a bad name or parameter before any model call
            strategy = self.build(spec)
            if spec not in config.calibration:  # never learn on the test split (checked before any call)
                check_training_split(strategy, spec, self.problems)
        if config.held_out is not None:
            get_feedback(config.held_out, self.task)
        self.executor: Executor = executor or LocalExecutor()
        self.executor.check(self)
        #: This evaluation's claim on its row (see `EvalStore.claim`): one process runs it at a time.
        self.owner = owner_of_this_process()
        self.eval_id = eval_id or self.evals.create(config.task, config.strategies, config.stored(),
                                                    owner=self.owner)
        self.runner.eval_id = self.eval_id
        self.on_item = on_item
        self._calibrating: dict[str, asyncio.Lock] = {}
        self._calibration_failed: dict[str, str] = {}

    @property
    def models_given(self) -> bool:
        """Whether the models were handed in (scripted ones in tests) rather than built from the config."""
        return self._models is not None

    def claim(self) -> None:
        """Take the evaluation's lease (`EvalBusy` if a live process holds it); marks stale runs
        and evaluations of dead processes `interrupted` first. Idempotent."""
        self.store.reap_stale()
        self.evals.claim(self.eval_id, self.owner)

    def build(self, spec: str) -> Strategy:
        """The strategy a spec names; `-p` parameters go to every outer stage that has them."""
        return self.runner.build(spec)

    def needs_calibration(self, spec: str) -> bool:
        """Whether `spec` waits for a calibration pass that has not been recorded yet."""
        return spec not in self.config.calibration and self.build(spec).needs_calibration

    def record_calibration(self, spec: str, measured: Calibration) -> None:
        """Keep what `spec`'s pass measured, in the config and in the store, before any item uses it."""
        self.config.calibration[spec] = measured
        self.evals.set_config(self.eval_id, self.config.stored())

    async def calibration(self, spec: str, models: dict[str, ManagedModel],
                          limit: asyncio.Semaphore) -> Calibration | None:
        """`spec`'s calibration (None if it takes none): the recorded one, else measured now over
        every problem, once (concurrent items of the spec wait for it) and recorded at once.
        A pass that gave no value raises `CalibrationError`, for every item of the spec."""
        if not self.needs_calibration(spec):
            return self.config.calibration.get(spec)
        # Offline learning (metareflection) runs on its own training split; the rest measure.
        passed = learn if self.build(spec).learning_task() is not None else measure
        async with self._calibrating.setdefault(spec, asyncio.Lock()):
            if spec in self.config.calibration:
                return self.config.calibration[spec]
            if spec in self._calibration_failed:
                raise CalibrationError(self._calibration_failed[spec])
            try:
                measured = await passed(spec, lambda: self.build(spec), self.problems, models, limit=limit,
                                        error_text=self.runner.error_text, **self.runner.run_options())
            except CalibrationError as exc:
                self._calibration_failed[spec] = str(exc)
                raise
            self.record_calibration(spec, measured)
            return measured

    def pending(self) -> list[tuple[str, int, Problem]]:
        done = self.evals.done_keys(self.eval_id)
        return [(spec, index, problem)
                for spec in self.config.strategies
                for index, problem in enumerate(self.problems)
                if (spec, problem.id) not in done]

    def models(self) -> dict[str, ManagedModel]:
        """The models from the config (or those given, e.g. scripted ones in tests)."""
        if self._models is not None:
            return self._models
        return build_models(self.config, self.config.concurrency)

    def save(self, item: ItemResult) -> None:
        """Commit one finished item (an error item too) and tell `on_item`."""
        self.evals.save_item(self.eval_id, item)
        if self.on_item is not None:
            self.on_item(item)

    async def run(self) -> list[ItemResult]:
        self.claim()
        started = time.perf_counter()
        status = "interrupted"
        try:
            await self.executor.execute(self)
            status = "done_with_errors" if self.evals.error_count(self.eval_id) else "done"
        except* Exception as errors:
            first = errors.exceptions[0]
            raise EvalInterrupted(
                f"{first}; finished items are saved: resume with `redraft evals resume {self.eval_id}`"
            ) from first
        finally:
            self.evals.set_status(self.eval_id, status, time.perf_counter() - started)
            self.evals.release(self.eval_id, self.owner)
        return self.evals.items(self.eval_id)

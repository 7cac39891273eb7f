"""Where an evaluation's items run: the seam between what an evaluation is and how it is scheduled.

An `Evaluation` owns its row, its lease, the pending set and the calibration it records; an
executor runs the pending items, each through the evaluation's `ItemRunner` (the same per-item
code everywhere), and hands every finished item to `Evaluation.save`, which commits it at once.
`LocalExecutor` (the default) runs them as tasks of this process's event loop, hundreds of calls
in flight under one limit; `redraft.integrations.ray_executor.RayExecutor` runs them on a Ray
cluster's actors, for more than one machine can send.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol

from redraft.errors import UsageError
from redraft.runs.calibration import CalibrationError
from redraft.tasks.base import Problem

if TYPE_CHECKING:
    from redraft.runs.evaluation import Evaluation


class Executor(Protocol):
    """Runs an evaluation's pending items and saves each as it finishes."""

    def check(self, evaluation: Evaluation) -> None:
        """Refuse (`UsageError`, `MissingExtra`) an evaluation this executor cannot run, before it
        is recorded: called once its config, task and models are known."""
        ...

    async def execute(self, evaluation: Evaluation) -> None:
        """Run `evaluation.pending()`, calibrating first what needs it; `evaluation.save` each item.
        An item's own failure is an error item; what raises here stops the evaluation (resumable)."""
        ...


class LocalExecutor:
    """Every pending item a task of this event loop, at most `config.concurrency` at once."""

    def check(self, evaluation: Evaluation) -> None:
        if len(evaluation.config.endpoints) > 1:
            raise UsageError(
                f"this evaluation has a pool of {len(evaluation.config.endpoints)} endpoints, which the "
                "Ray executor spreads over its actors: run it with --executor ray (one process calls "
                "one endpoint)"
            )

    async def execute(self, evaluation: Evaluation) -> None:
        models = evaluation.models()
        limit = asyncio.Semaphore(evaluation.config.concurrency)
        runner = evaluation.runner

        async def guarded(spec: str, index: int, problem: Problem) -> None:
            try:  # outside the limit: the calibration pass takes its own places under it
                await evaluation.calibration(spec, models, limit)
            except CalibrationError as exc:
                item = runner.error_item(spec, index, problem, exc)
            else:
                async with limit:
                    item = await runner.run_or_record(spec, index, problem, models)
            evaluation.save(item)

        try:
            async with asyncio.TaskGroup() as group:
                for spec, index, problem in evaluation.pending():
                    group.create_task(guarded(spec, index, problem))
        finally:
            for model in models.values():
                await model.aclose()

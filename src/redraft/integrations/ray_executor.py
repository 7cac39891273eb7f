"""Ray, for evaluations and data generation past one machine (the `[ray]` extra).

One asyncio process keeps hundreds of requests in flight, which is the right default (Ray adds
seconds of startup and of scheduling per pipeline). Past what one machine can send, against a
pool of endpoints, `redraft eval ... --executor ray` runs the same evaluation as a Ray Data
pipeline:

    rows    = one per pending (strategy, problem): spec, index, the problem as JSON
    dataset = from_items(rows), at most 16 rows a block (small blocks: work spreads over the
              actors, and each block's results come back, and are committed, as it finishes)
    results = dataset.map(ItemWorker, actor pool of N actors, each C items in flight)
    for each result row as it arrives:            # on the driver
        insert the item's runs (its trace) into the evaluation's run store
        save the item                              # so report, export and resume work unchanged

`ItemWorker` is a callable class whose `async __call__` runs one row through
`redraft.runs.items.ItemRunner`, the code the local executor runs: redraft's own strategy
coroutine with its stop rules, votes and trees (not `ray.data.llm` processors, which express
none of them). Each actor takes the next endpoint of the generator's pool as it starts, so a
pool of K endpoints under N >= K actors is round-robined per actor.

Where things live. The run store is the driver's (`--db`): an actor on another machine cannot
write that SQLite file, so each item is traced into a run store of its own in the actor's memory
and shipped back with its result (`redraft.runs.transfer`); only the driver writes the store,
and the evaluation's lease is the driver's. The response cache, when on, is each worker node's
own (`$REDRAFT_CACHE` there). The models are resolved on the driver (its `$OPENAI_BASE_URL` and
`$OPENAI_API_KEY` included) and travel to the actors with the config.

Failures. The UDF never raises: an item that fails is an error row, and the driver re-runs it on
resume. Resume is redraft's own (the finished (eval, strategy, problem) items are skipped), not
Ray's checkpointing. A spec that takes a calibration pass (`magicore[min_confidence=dataset]`)
gets it as a first pipeline over every problem, resolved and recorded on the driver exactly as
the local executor does, before its items run.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import threading
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from redraft.errors import UsageError
from redraft.extras import needs_extra, require
from redraft.models.managed import ManagedModel
from redraft.runs.calibration import CalibrationError, ProblemValues, resolve
from redraft.runs.eval_config import EvalConfig
from redraft.runs.eval_store import ItemResult
from redraft.runs.items import ItemRunner, build_models, error_text
from redraft.runs.store import RunStore
from redraft.runs.transfer import RunRecords, export_runs, import_runs, schema
from redraft.tasks.base import Problem, Task
from redraft.tasks.registry import get_task

if TYPE_CHECKING:
    from redraft.runs.evaluation import Evaluation

#: What a row asks for: a calibration run of its spec on its problem, or the item itself.
ITEM, CALIBRATION = "item", "calibration"
#: Ray Data runs at most 16 rows of a block at once in an async UDF (its default): a block of
#: more would hold rows back, and make its results come back later.
MAX_ROWS_PER_BLOCK = 16


def _ray() -> Any:
    with needs_extra("--executor ray", "ray", "ray"):
        import ray
        import ray.data
    return ray


class RayExecutor:
    """Runs an evaluation's items on a Ray cluster: `actors` actors, `per_actor` items each at once.

    `address`: the cluster's (`auto`, `HOST:6379`, `ray://HOST:10001`); None is Ray's rule
    (`$RAY_ADDRESS`, else the cluster `ray start` left on this machine, else a local Ray for this
    run). A process that already called `ray.init` keeps its session (used, and left open).
    `actors` None: one per endpoint of the pool; `per_actor` None: the evaluation's `concurrency`.
    """

    def __init__(
        self, address: str | None = None, actors: int | None = None, per_actor: int | None = None
    ) -> None:
        for name, value in (("actors", actors), ("per_actor", per_actor)):
            if value is not None and value < 1:
                raise UsageError(f"--{name.replace('_', '-')} must be greater than 0, got {value}")
        self.address = address
        self.actors = actors
        self.per_actor = per_actor

    def check(self, evaluation: Evaluation) -> None:
        require("--executor ray", "ray", "ray")
        if evaluation.models_given:
            raise UsageError(
                "the Ray executor builds its models from the config on every actor; "
                "models handed to the evaluation (scripted ones) run only locally"
            )
        pool = evaluation.config.pool()
        if self.actors is not None and self.actors < len(pool):
            raise UsageError(
                f"--actors {self.actors} would leave {len(pool) - self.actors} of the "
                f"{len(pool)} endpoints unused: give at least one actor per endpoint"
            )

    def sizes(self, config: EvalConfig) -> tuple[int, int]:
        """(actors, items in flight per actor) for `config`."""
        return self.actors or len(config.pool()), self.per_actor or config.concurrency

    async def execute(self, evaluation: Evaluation) -> None:
        pending = evaluation.pending()
        if not pending:
            return
        ray = _ray()
        owned = not ray.is_initialized()
        if owned:
            ray.init(address=self.address)
        try:
            failed = await self.calibrate(evaluation, {spec for spec, _, _ in pending})
            rows = []
            for spec, index, problem in pending:
                if spec in failed:  # as the local executor: every item of the spec, an error item
                    evaluation.save(
                        evaluation.runner.error_item(spec, index, problem, CalibrationError(failed[spec]))
                    )
                else:
                    rows.append(_row(ITEM, spec, index, problem))
            async with contextlib.aclosing(self.results(evaluation, rows)) as results:
                async for row in results:
                    evaluation.save(ItemResult.model_validate_json(row["result"]))
        finally:
            if owned:
                ray.shutdown()

    async def calibrate(self, evaluation: Evaluation, specs: set[str]) -> dict[str, str]:
        """Run the calibration pass of every spec in `specs` that waits for one, as one pipeline
        over every problem, and record what each resolves to; returns {spec: error} for those
        that gave no value (their items are error items; resume tries again)."""
        waiting = [
            spec
            for spec in evaluation.config.strategies
            if spec in specs and evaluation.needs_calibration(spec)
        ]
        failed: dict[str, str] = {}
        for spec in [s for s in waiting if evaluation.build(s).learning_task() is not None]:
            # Offline learning (metareflection) is one sequential pass over its own training split:
            # it runs here, on the driver, as the local executor runs it, and is recorded the same way.
            waiting.remove(spec)
            try:
                await evaluation.calibration(spec, evaluation.models(), asyncio.Semaphore(1))
            except CalibrationError as exc:
                failed[spec] = str(exc)
        if not waiting:
            return failed
        rows = [
            _row(CALIBRATION, spec, index, problem)
            for spec in waiting
            for index, problem in enumerate(evaluation.problems)
        ]
        got: dict[str, dict[int, ProblemValues]] = {spec: {} for spec in waiting}
        async with contextlib.aclosing(self.results(evaluation, rows)) as results:
            async for row in results:
                got[row["spec"]][int(row["index"])] = ProblemValues.model_validate_json(row["result"])
        for spec in waiting:
            in_order = [got[spec][index] for index in range(len(evaluation.problems))]
            try:
                evaluation.record_calibration(
                    spec, resolve(spec, functools.partial(evaluation.build, spec), in_order)
                )
            except CalibrationError as exc:
                failed[spec] = str(exc)
        return failed

    def pipeline(self, evaluation: Evaluation, rows: list[dict[str, Any]], turns: Any) -> Any:
        """The dataset of `rows` mapped by `ItemWorker` on an actor pool: blocks of at most 16
        rows, and enough of them in flight per actor for `per_actor` items to run at once (the
        actor's semaphore keeps it to exactly that)."""
        ray = _ray()
        actors, per_actor = self.sizes(evaluation.config)
        rows_per_block = max(1, min(MAX_ROWS_PER_BLOCK, math.ceil(len(rows) / (actors * per_actor * 4))))
        in_flight = math.ceil(per_actor / rows_per_block) + 1  # one block more: the next is ready
        blocks = math.ceil(len(rows) / rows_per_block)
        return ray.data.from_items(rows, override_num_blocks=blocks).map(
            ItemWorker,
            fn_constructor_kwargs={
                "config": shipped(evaluation.config),
                "eval_id": evaluation.eval_id,
                "per_actor": per_actor,
                "store_content": evaluation.store.store_content,
                "turns": turns,
            },
            compute=ray.data.ActorPoolStrategy(
                size=actors, max_tasks_in_flight_per_actor=in_flight, max_concurrent_calls_per_actor=in_flight
            ),
            num_cpus=1,
        )

    async def results(
        self, evaluation: Evaluation, rows: list[dict[str, Any]]
    ) -> AsyncGenerator[dict[str, Any], None]:
        """Run `rows` on the actor pool; yield each result row as it arrives, its runs already in
        the evaluation's store. Ray's iterator blocks, so it is read in a thread of its own; if
        the evaluation stops (a signal), the thread stops reading and the pipeline with it."""
        if not rows:  # every item of the pending specs failed its calibration: nothing to run
            return
        ray = _ray()
        pool = evaluation.config.pool()
        turns = ray.remote(num_cpus=0)(EndpointTurns).remote(pool) if len(pool) > 1 else None
        context = ray.data.DataContext.get_current()  # a dataset keeps the context it was made in
        bars, context.enable_progress_bars = context.enable_progress_bars, False  # redraft shows its own
        loop = asyncio.get_running_loop()
        arrived: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()

        def put(value: Any) -> None:
            try:
                loop.call_soon_threadsafe(arrived.put_nowait, value)
            except RuntimeError:  # the loop is closed: the evaluation has stopped
                stop.set()

        def read(dataset: Any) -> None:
            try:
                for row in dataset.iter_rows():
                    if stop.is_set():
                        return
                    put(dict(row))
            except BaseException as exc:  # noqa: BLE001 - handed to the driver, which raises it
                put(_Failed(exc))
            else:
                put(_DONE)

        try:
            dataset = self.pipeline(evaluation, rows, turns)
            threading.Thread(target=read, args=(dataset,), name="redraft-ray-results", daemon=True).start()
            while (got := await arrived.get()) is not _DONE:
                if isinstance(got, _Failed):
                    raise got.error
                import_runs(evaluation.store, RunRecords.model_validate_json(got["runs"]))
                yield got
        finally:
            stop.set()
            context.enable_progress_bars = bars
            if turns is not None:
                ray.kill(turns)


class EndpointTurns:
    """The generator's pool, handed out in turn: each actor takes the next endpoint as it starts.
    Run as a Ray actor of its own (no CPU), so every actor of the pool asks the same counter."""

    def __init__(self, endpoints: list[str | None]) -> None:
        self.endpoints = endpoints
        self.turn = 0

    def next(self) -> str | None:
        endpoint = self.endpoints[self.turn % len(self.endpoints)]
        self.turn += 1
        return endpoint


class ItemWorker:
    """One actor of the pool: runs rows of one evaluation, at most `per_actor` at once, calling
    its endpoint of the pool. Its task and models are built on the first row, on the event loop
    Ray runs the UDF on; a row that fails is returned as a failed result, never raised."""

    def __init__(
        self, config: EvalConfig, eval_id: str, per_actor: int, store_content: bool, turns: Any = None
    ) -> None:
        self.config = config
        self.eval_id = eval_id
        self.per_actor = per_actor
        self.store_content = store_content
        self.endpoint: str | None = None
        if turns is not None:
            self.endpoint = _ray().get(turns.next.remote())
        self._ready: tuple[Task, dict[str, ManagedModel], asyncio.Semaphore] | None = None

    def ready(self) -> tuple[Task, dict[str, ManagedModel], asyncio.Semaphore]:
        if self._ready is None:
            task = get_task(self.config.task).with_seed(self.config.seed)
            models = build_models(self.config, self.per_actor, generator_url=self.endpoint)
            self._ready = (task, models, asyncio.Semaphore(self.per_actor))
        return self._ready

    async def __call__(self, row: dict[str, Any]) -> dict[str, Any]:
        keys = {key: row[key] for key in ("kind", "spec", "index", "problem_id")}
        try:
            result, records = await self.run(row)
        except Exception as exc:  # noqa: BLE001 - the UDF never raises: the row's error is its result
            result, records = self.failed(row, exc), RunRecords(schema_name=schema(), tables={})
        return {**keys, "result": result, "runs": records.model_dump_json()}

    async def run(self, row: dict[str, Any]) -> tuple[str, RunRecords]:
        """The row's result (JSON) and the runs it recorded, from a run store of its own."""
        task, models, limit = self.ready()
        problem = Problem.model_validate_json(row["problem"])
        store = RunStore(":memory:", store_content=self.store_content)
        try:
            runner = ItemRunner(self.config, task, store, self.eval_id)
            async with limit:
                if row["kind"] == CALIBRATION:
                    result = (await runner.calibrate(row["spec"], problem, models)).model_dump_json()
                else:
                    item = await runner.run_or_record(row["spec"], int(row["index"]), problem, models)
                    result = item.model_dump_json()
            return result, export_runs(store)
        finally:
            store.close()

    def failed(self, row: dict[str, Any], exc: Exception) -> str:
        """What a row that could not even run returns: an error item, or a failed calibration run."""
        text = error_text(self.config, exc)
        if row["kind"] == CALIBRATION:
            failure = ProblemValues(problem_id=row["problem_id"], error=f"{row['problem_id']}: {text}")
            return failure.model_dump_json()
        item = ItemResult(
            strategy=row["spec"],
            problem_id=row["problem_id"],
            problem_index=int(row["index"]),
            status="error",
            error=text,
            correct=False,
        )
        return item.model_dump_json()


def shipped(config: EvalConfig) -> EvalConfig:
    """The config as the actors get it: every model resolved here, on the driver (its environment's
    endpoint and key, as the local executor would use them), keys included: they must call."""
    roles = {role: c.resolved() for role, c in config.roles.items()}
    return config.model_copy(update={"generator": config.generator.resolved(), "roles": roles}, deep=True)


def _row(kind: str, spec: str, index: int, problem: Problem) -> dict[str, Any]:
    return {
        "kind": kind,
        "spec": spec,
        "index": index,
        "problem_id": problem.id,
        "problem": problem.model_dump_json(),
    }


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE = object()

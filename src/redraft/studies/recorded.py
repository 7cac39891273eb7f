"""A study run, recorded: its settings, its evaluations and its result, read back without rerunning.

    replicate(study, context):
        id <- replications.create(study, task, context.settings())      # status running
        context.replication <- id        # each evaluation is linked to it as it is created
        result <- study.run(context)     # cancelled: interrupted; raised: failed (and re-raised)
        replications.finish(id, result as JSON)
    load(store, id): the record, with its StudyResult validated again

The claims table and the HTML report of a stored replication are drawn from its stored result and
the study's own `figures(result)`, so nothing is rerun; each evaluation stays an ordinary one that
`redraft evals show` reads (and says which replication it belongs to). A rerun of the same study is
a new replication with new evaluations; its model calls are the same requests, so with the cache on
they are answered from the response cache as before.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from pydantic import ValidationError

from redraft.errors import StoreError, UsageError
from redraft.runs.replication_store import ReplicationRecord, ReplicationStore
from redraft.runs.store import RunStore
from redraft.studies.base import Study, StudyContext, StudyResult


@dataclass
class Replication:
    """A recorded study run; `result` is None while it runs, or when it stopped before the end."""

    record: ReplicationRecord
    result: StudyResult | None

    @property
    def id(self) -> str:
        return self.record.id

    def finished(self) -> StudyResult:
        """Its result, or a `UsageError` saying why there is none and what to do."""
        if self.result is not None:
            return self.result
        record = self.record
        why = f" ({record.error})" if record.error else ""
        evals = ", ".join(record.eval_ids) or "none yet"
        raise UsageError(
            f"replication {record.id} ({record.study} on {record.task}) is "
            f"{record.status}{why}: it has no result to show; its evaluations: {evals}. "
            f"Run the study again (`redraft replicate {record.study} --task {record.task}`): "
            "with the cache on, what was already asked is answered from it"
        )


async def replicate(study: Study, context: StudyContext) -> Replication:
    """Run `study` in `context` and record it (see the module's pseudocode)."""
    records = ReplicationStore(context.store)
    params = type(study).Params().model_dump(mode="json")
    replication_id = records.create(study.name, context.task, context.settings(params))
    context.replication = replication_id
    started = time.monotonic()
    try:
        result = await study.run(context)
    except asyncio.CancelledError:
        records.fail(replication_id, "interrupted", "interrupted", time.monotonic() - started)
        raise
    except BaseException as exc:
        records.fail(
            replication_id,
            "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed",
            f"{type(exc).__name__}: {exc}",
            time.monotonic() - started,
        )
        raise
    records.finish(replication_id, result.to_json(), time.monotonic() - started)
    return Replication(record=records.get(replication_id), result=result)


def load(store: RunStore, replication_id: str) -> Replication:
    """A stored replication by id or unique prefix, its result read back as a `StudyResult`."""
    record = ReplicationStore(store).get(replication_id)
    if record.result is None:
        return Replication(record=record, result=None)
    try:
        result = StudyResult.model_validate(record.result)
    except ValidationError as exc:
        raise StoreError(
            f"replication {record.id}: its stored result cannot be read by this version of "
            f"redraft ({exc.error_count()} problems, first: {exc.errors()[0]['msg']})"
        ) from None
    return Replication(record=record, result=result)

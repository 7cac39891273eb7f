"""The canonical record an export projects: per problem, every candidate and a label you can trust.

A label keeps its source: `verified` (the task's own scorer, re-run on the candidate's text
against the stored reference: deterministic, no model call), `self_judged` (a critic's verdict,
when no scorer can verify: a plain `redraft run`, a model-graded task), and
`oracle_conditioned` (a candidate written after feedback that saw the reference: "small LMs need
strong verifiers" writes critiques with the gold solution as a hint; usable, but never mixed in
unmarked). Nothing here calls a model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, Field

from redraft.errors import UsageError
from redraft.runs.eval_store import EvalStore
from redraft.runs.store import RunDetail, RunNotFound, RunStore
from redraft.tasks.base import Problem, Task
from redraft.tasks.registry import get_task
from redraft.trace import CallRecord, Verdict

LabelSource = Literal["verified", "self_judged", "oracle_conditioned"]


class CandidateTrace(BaseModel):
    seq: int
    round: int
    kind: str
    stage: str | None = None
    parent: int | None = None
    text: str
    answer: str | None = None
    #: The feedback this candidate received (a critique, a test report, a reward's reasons).
    critique: str | None = None
    verdict: str | None = None
    score: float | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    #: The call that wrote it: role, model, sampling and its prompt.
    role: str | None = None
    model: str | None = None
    sampling: dict[str, Any] = Field(default_factory=dict)
    prompt_messages: list[dict[str, Any]] = Field(default_factory=list)
    tool_calls: list[dict[str, Any]] | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    correct: bool | None = None
    label_source: LabelSource | None = None


class ProblemTrace(BaseModel):
    run_id: str
    eval_id: str | None = None
    task: str | None = None
    split: str | None = None
    problem_id: str | None = None
    prompt: str
    reference: str | None = None
    strategy: str
    strategy_params: dict[str, Any] = Field(default_factory=dict)
    models: dict[str, str] = Field(default_factory=dict)
    oracle: bool = False
    final_seq: int | None = None
    candidates: list[CandidateTrace] = Field(default_factory=list)

    def candidate(self, seq: int | None) -> CandidateTrace | None:
        return next((c for c in self.candidates if c.seq == seq), None)


def read_traces(store: RunStore, ids: Iterable[str], *, include_reference: bool = True) -> list[ProblemTrace]:
    """`load_traces`, for callers without an event loop (the CLI)."""
    return asyncio.run(load_traces(store, ids, include_reference=include_reference))


async def load_traces(
    store: RunStore, ids: Iterable[str], *, include_reference: bool = True
) -> list[ProblemTrace]:
    """The traces of evaluations and runs named by id (or a unique prefix), in the order given.

    An evaluation contributes every item that produced a run; its task's scorer labels each
    candidate `verified`. A bare run has no task: its labels are critics' verdicts.
    """
    evals = EvalStore(store)
    traces: list[ProblemTrace] = []
    for given in ids:
        try:
            record = evals.get(given)
        except RunNotFound:  # not an evaluation: a run id
            record = None
        if record is not None:
            task = _task(record.task)
            for item in evals.items(record.id):
                if item.status == "done" and item.run_id:
                    traces.append(
                        await build(
                            store.get_run(item.run_id),
                            task=task,
                            task_spec=record.task,
                            eval_id=record.id,
                            include_reference=include_reference,
                        )
                    )
            continue
        try:
            run = store.get_run(given)
        except RunNotFound:
            raise UsageError(f"no evaluation or run with id {given!r} in {store.path}") from None
        traces.append(
            await build(run, task=None, task_spec=None, eval_id=None, include_reference=include_reference)
        )
    return traces


def _task(spec: str) -> Task | None:
    try:
        return get_task(spec)
    except Exception:  # a user file moved since: no verified labels, said in the card
        return None


async def build(
    run: RunDetail, *, task: Task | None, task_spec: str | None, eval_id: str | None, include_reference: bool
) -> ProblemTrace:
    calls = {c.seq: c for c in run.call_records}
    final_seq = run.picks[-1].candidate_seq if run.picks else None
    problem = Problem(id=run.problem_id or run.id, prompt=run.prompt, reference=run.reference)
    scorable = task is not None and task.judge is None and run.reference is not None
    candidates = []
    verified: dict[str, bool] = {}  # one scoring per distinct text (a vote repeats answers)
    for c in run.candidates:
        if c.stage == "scoring":
            continue
        call: CallRecord | None = calls.get(c.call_seq) if c.call_seq is not None else None
        correct, source = await _label(task if scorable else None, problem, c.text, c.verdict, verified)
        if source is not None and run.oracle and c.round > 0:
            source = "oracle_conditioned"  # written after feedback that read the reference
        candidates.append(
            CandidateTrace(
                seq=c.seq,
                round=c.round,
                kind=c.kind,
                stage=c.stage,
                parent=c.parent,
                text=c.text,
                answer=c.answer,
                critique=c.feedback,
                verdict=c.verdict.value if c.verdict else None,
                score=c.score,
                metadata=c.metadata,
                role=call.role if call else None,
                model=call.model if call else None,
                sampling=call.sampling if call else {},
                prompt_messages=call.messages if call else [],
                prompt_tokens=call.prompt_tokens if call else 0,
                completion_tokens=call.completion_tokens if call else 0,
                correct=correct,
                label_source=source,
            )
        )
    return ProblemTrace(
        run_id=run.id,
        eval_id=eval_id,
        task=task_spec,
        split=task.split if task else None,
        problem_id=run.problem_id,
        prompt=run.prompt,
        reference=run.reference if include_reference else None,
        strategy=run.strategy,
        strategy_params=run.strategy_params,
        models=run.models,
        oracle=run.oracle,
        final_seq=final_seq,
        candidates=candidates,
    )


async def _label(
    task: Task | None, problem: Problem, text: str, verdict: Verdict | None, verified: dict[str, bool]
) -> tuple[bool | None, LabelSource | None]:
    if task is not None:
        if text not in verified:
            verified[text] = (await task.score(problem, text)).correct
        return verified[text], "verified"
    if verdict in (Verdict.OK, Verdict.REVISE):
        return verdict is Verdict.OK, "self_judged"
    return None, None

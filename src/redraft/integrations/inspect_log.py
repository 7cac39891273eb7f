"""`redraft evals export EVAL_ID --inspect DIR`: an evaluation as Inspect logs, for `inspect view`.

One log per strategy of the evaluation (an Inspect log is one solver on one task), written with
inspect_ai's own `write_eval_log` (the `.eval` format is versioned, not a frozen spec, so it is
never written by hand) and named as Inspect names its logs, `{created}_{task}_{id}.eval`, where
`id` is the evaluation's id and the strategy. In each log:

- one sample per problem: its prompt, the final answer, the task's verdict as the score `correct`
  (C/I, with the extracted answer), and an item that failed for good as a sample error;
- the run's events in order, a span per round: a model event per call with its role (the grading
  calls of a model-graded task in a last span, `scoring`, role `judge`), an info event per
  candidate (its verdict, critic score, feedback), and after each round but the last an
  intermediate score event: whether the answer the strategy would have given had it stopped
  there is right. Then the final score event;
- the sample metadata: the strategy, stop reason, the oracle label (`oracle: true` means the
  feedback saw the reference: an upper bound, never a self-correction result), each round's
  correctness and critic score, and the flips (`wrong_to_right`, `right_to_wrong`, per round and
  first to final), as redraft's own report counts them;
- the results: accuracy over the finished items, with redraft's accuracy by round and flips.

Nothing here calls a model; API keys are never in the stored config, and base URLs are redacted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from inspect_ai.event import InfoEvent, ModelEvent, ScoreEvent, SpanBeginEvent, SpanEndEvent
from inspect_ai.log import (
    EvalConfig,
    EvalDataset,
    EvalError,
    EvalLog,
    EvalMetric,
    EvalPlan,
    EvalPlanStep,
    EvalResults,
    EvalSample,
    EvalScore,
    EvalSpec,
    EvalStats,
    write_eval_log,
)
from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessageAssistant,
    ChatMessageUser,
    GenerateConfig,
    ModelConfig,
    ModelOutput,
    ModelUsage,
)
from inspect_ai.scorer import CORRECT, INCORRECT, Score

from redraft.integrations.inspect_model import chat_messages, usage_of
from redraft.redact import redact
from redraft.runs.eval_store import EvalRecord, EvalStore, ItemResult
from redraft.runs.metrics import round_stats, transition
from redraft.runs.store import RunDetail, RunStore
from redraft.spec import parse_component
from redraft.strategies.registry import parse_spec
from redraft.trace import CallRecord, Candidate

SCORER = "correct"
#: redraft's evaluation status as Inspect's log status.
STATUS = {"done": "success", "done_with_errors": "success", "interrupted": "cancelled", "running": "started"}
STOP_REASONS = {
    "length": "max_tokens",
    "stop": "stop",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
}


def export_inspect(store: RunStore, eval_id: str, directory: Path) -> list[Path]:
    """Write one Inspect log per strategy of evaluation `eval_id` into `directory`; their paths."""
    evals = EvalStore(store)
    record = evals.get(eval_id)
    items = evals.items(record.id)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec, task_id in log_ids(record):
        log = eval_log(store, record, spec, task_id, [i for i in items if i.strategy == spec])
        path = directory / f"{log_name(record, task_id)}.eval"
        write_eval_log(log, path.as_posix(), format="eval")
        paths.append(path)
    return paths


def log_ids(record: EvalRecord) -> list[tuple[str, str]]:
    """Each strategy's log id: the evaluation id and the strategy spec as a file name can hold it."""
    ids: list[tuple[str, str]] = []
    for spec in record.strategies:
        task_id = f"{record.id}-{_slug(spec)}"
        if task_id in (taken for _, taken in ids):
            task_id += f"-{len(ids)}"
        ids.append((spec, task_id))
    return ids


def log_name(record: EvalRecord, task_id: str) -> str:
    """`{created}_{task}_{id}` as Inspect writes it (no `_`, `:`, `/` or `+` inside a part)."""
    return f"{_slug(_created(record.created_at))}_{_slug(task_name(record.task))}_{_slug(task_id)}"


def task_name(spec: str) -> str:
    """A task spec as a name: `gsm8k`, `rg:chain_sum[...]` -> `rg-chain_sum`, a file's task by its stem."""
    parsed = parse_component(spec)
    return parsed.name if not parsed.arg else f"{parsed.name}-{Path(parsed.arg).stem}"


def eval_log(
    store: RunStore, record: EvalRecord, spec: str, task_id: str, items: list[ItemResult]
) -> EvalLog:
    runs = {i.run_id: store.get_run(i.run_id) for i in items if i.run_id}
    config = record.config
    generator = (
        next((r.models.get("generator") for r in runs.values() if r.models.get("generator")), None)
        or config.get("generator", {}).get("model")
        or "unknown"
    )
    solver, args = solver_of(spec, config.get("params", {}))
    samples = [sample(store, item, runs.get(item.run_id or "")) for item in items]
    model_usage = _sum_usage(s.model_usage for s in samples)
    role_usage = _sum_usage(s.role_usage for s in samples)
    created = _created(record.created_at)
    return EvalLog(
        status=STATUS.get(record.status, "error"),
        eval=EvalSpec(
            eval_id=task_id,  # one per log; the logs of one evaluation share its id as their run
            run_id=record.id,
            created=created,
            task=record.task,
            task_id=task_id,
            solver=solver,
            solver_args=args,
            solver_args_passed=args,
            dataset=EvalDataset(
                name=record.task, samples=len(items), sample_ids=[i.problem_id for i in items]
            ),
            model=generator,
            model_base_url=_redacted(config.get("generator", {}).get("base_url")),
            model_generate_config=GenerateConfig(
                temperature=config.get("temperature"),
                max_tokens=config.get("max_tokens"),
                seed=config.get("seed"),
            ),
            model_roles={
                role: ModelConfig(model=c.get("model") or "unknown", base_url=_redacted(c.get("base_url")))
                for role, c in config.get("roles", {}).items()
            }
            or None,
            config=EvalConfig(limit=config.get("limit"), epochs=1),
            packages={"redraft": version("redraft"), "inspect_ai": version("inspect_ai")},
            metadata={
                "redraft": {
                    "eval_id": record.id,
                    "strategy": spec,
                    "strategies": record.strategies,
                    "budget_calls": config.get("budget_calls"),
                    "budget_tokens": config.get("budget_tokens"),
                }
            },
        ),
        plan=EvalPlan(steps=[EvalPlanStep(solver=solver, params=args)]),
        results=results(items),
        stats=EvalStats(
            started_at=created,
            completed_at=_completed(record),
            model_usage=model_usage,
            role_usage=role_usage,
        ),
        samples=samples,
    )


def solver_of(spec: str, shared: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The Inspect solver that runs `spec` (`redraft/NAME` with its parameters, or `redraft/strategy`
    for a composition or a feedback spec), as `inspect eval --solver` would take it."""
    parsed = parse_spec(spec)
    if len(parsed.stages) == 1 and parsed.feedback is None:
        return f"redraft/{parsed.stages[0].name}", {**shared, **parsed.stages[0].params}
    return "redraft/strategy", {"spec": spec, **shared}


def results(items: list[ItemResult]) -> EvalResults:
    done = [i for i in items if i.status == "done"]
    metrics = {}
    if done:
        values = [float(i.correct) for i in done]
        accuracy = sum(values) / len(values)
        metrics["accuracy"] = EvalMetric(name="accuracy", value=accuracy)
        if len(values) > 1:  # Inspect's stderr: the sample standard deviation over sqrt(n)
            variance = sum((v - accuracy) ** 2 for v in values) / (len(values) - 1)
            metrics["stderr"] = EvalMetric(name="stderr", value=math.sqrt(variance / len(values)))
    stats = round_stats(done)
    first_final = transition([r[0] for r in _rounds(done)], [r[-1] for r in _rounds(done)]) if done else None
    return EvalResults(
        total_samples=len(items),
        completed_samples=len(done),
        scores=[
            EvalScore(
                name=SCORER,
                scorer=SCORER,
                scored_samples=len(done),
                unscored_samples=len(items) - len(done),
                metrics=metrics,
            )
        ],
        metadata={
            "accuracy_by_round": [s.accuracy for s in stats],
            "wrong_to_right": first_final.wrong_to_right if first_final else 0,
            "right_to_wrong": first_final.right_to_wrong if first_final else 0,
            "errors": len(items) - len(done),
        },
    )


def sample(store: RunStore, item: ItemResult, run: RunDetail | None) -> EvalSample:
    """One problem of one strategy: its run's events, its score, and its flips in the metadata."""
    metadata = sample_metadata(item, run)
    if item.status == "error" or run is None:
        return EvalSample(
            id=item.problem_id,
            epoch=1,
            target=item.reference or "",
            metadata=metadata,
            input=run.prompt if run else f"(problem {item.problem_id}: no run was recorded, the item failed)",
            error=EvalError(message=item.error or "the item failed", traceback="", traceback_ansi=""),
        )
    final = _score(item.correct, item.answer, "the task's verdict on the final answer", item)
    events = sample_events(run, item, store.call_times(run.id), final)
    by_model: dict[str, ModelUsage] = {}
    by_role: dict[str, ModelUsage] = {}
    for call in run.call_records:
        used = usage_of(call.prompt_tokens, call.completion_tokens)
        for key, table in (
            (call.model, by_model),
            ("judge" if call.stage == "scoring" else call.role, by_role),
        ):
            table[key] = _add(table.get(key), used)
    output = ModelOutput.from_content(model=run.models.get("generator", ""), content=run.final_text or "")
    output.usage = usage_of(run.prompt_tokens, run.completion_tokens)
    return EvalSample(
        id=item.problem_id,
        epoch=1,
        input=run.prompt,
        target=run.reference or "",
        messages=[ChatMessageUser(content=run.prompt), ChatMessageAssistant(content=run.final_text or "")],
        output=output,
        scores={SCORER: final},
        metadata=metadata,
        events=events,
        model_usage=by_model,
        role_usage=by_role,
        started_at=run.created_at,
        uuid=run.id,
        total_time=run.wall_s,
        working_time=run.wall_s,
    )


def sample_metadata(item: ItemResult, run: RunDetail | None) -> dict[str, Any]:
    rounds = list(item.round_correct) or [item.correct]
    changes = [
        {"round": r, "flip": _flip(rounds[r - 1], rounds[r])}
        for r in range(1, len(rounds))
        if rounds[r - 1] != rounds[r]
    ]
    return {
        "strategy": item.strategy,
        "run_id": item.run_id,
        "status": item.status,
        "stop_reason": item.stop_reason,
        "oracle": item.oracle,
        "self_graded": item.self_graded,
        "round_correct": rounds,
        "round_scores": item.round_scores,
        "flips": {
            "first_to_final": _flip(rounds[0], rounds[-1]) if item.status == "done" else None,
            "by_round": changes,
        },
        "calls_by_role": item.calls_by_role,
        "truncated_by_role": item.truncated_by_role,
        "calls": item.calls,
        "judge_calls": item.judge_calls,
        "strategy_params": run.strategy_params if run else {},
    }


def sample_events(run: RunDetail, item: ItemResult, times: dict[int, str], final: Score) -> list[Any]:
    """The run as Inspect events: a span per round, each round's score after it, the final score."""
    outer = sorted((c for c in run.candidates if c.stage is None), key=lambda c: c.seq)
    last_round = max((c.round for c in outer), default=0)
    records: list[tuple[int, CallRecord | Candidate]] = sorted(
        [(c.seq, c) for c in run.call_records] + [(c.seq, c) for c in run.candidates if c.stage != "scoring"],
        key=lambda pair: pair[0],
    )
    rounds: dict[str, list[CallRecord | Candidate]] = {}
    for seq, record in records:
        if isinstance(record, CallRecord) and record.stage == "scoring":
            rounds.setdefault("scoring", []).append(record)
            continue
        later = next((c.round for c in outer if c.seq >= seq), last_round)
        rounds.setdefault(
            str(record.round if isinstance(record, Candidate) and record.stage is None else later), []
        ).append(record)
    clock = _Clock(run.created_at, times)
    picks = {p.round: p for p in run.picks}
    correct = dict(zip(sorted(picks), item.round_correct, strict=False))
    events: list[Any] = []
    for name in sorted(rounds, key=lambda k: (k == "scoring", int(k) if k.isdigit() else 0)):
        span = f"{run.id}-{name}"
        events.append(
            SpanBeginEvent(
                id=span,
                name=name if name == "scoring" else f"round {name}",
                type="round",
                timestamp=clock.now,
                working_start=clock.working,
            )
        )
        for record in rounds[name]:
            events.append(
                model_event(record, clock, span)
                if isinstance(record, CallRecord)
                else candidate_event(record, clock, span)
            )
        events.append(SpanEndEvent(id=span, timestamp=clock.now, working_start=clock.working))
        number = int(name) if name.isdigit() else None
        if number is not None and number != last_round and number in correct:
            pick = picks[number]
            score = _score(
                correct[number],
                pick.answer,
                f"round {number}: the answer had the strategy stopped here",
                item,
                round=number,
                critic_score=pick.score,
            )
            events.append(
                ScoreEvent(
                    score=score,
                    target=run.reference,
                    intermediate=True,
                    scorer=SCORER,
                    timestamp=clock.now,
                    working_start=clock.working,
                )
            )
    events.append(
        ScoreEvent(
            score=final,
            target=run.reference,
            intermediate=False,
            scorer=SCORER,
            timestamp=clock.now,
            working_start=clock.working,
        )
    )
    return events


def model_event(call: CallRecord, clock: _Clock, span: str) -> ModelEvent:
    started, ended = clock.call(call)
    texts = call.texts or [call.text]
    choices = [
        ChatCompletionChoice(
            message=ChatMessageAssistant(content=text, model=call.model),
            stop_reason=STOP_REASONS.get(call.finish_reason or "", "unknown"),
        )
        for text in texts
    ]
    output = ModelOutput(
        model=call.model,
        choices=choices,
        time=call.latency_s,
        usage=usage_of(call.prompt_tokens, call.completion_tokens),
    )
    sampling = call.sampling
    config = GenerateConfig(
        temperature=sampling.get("temperature"),
        max_tokens=sampling.get("max_tokens"),
        seed=sampling.get("seed"),
        top_p=sampling.get("top_p"),
        num_choices=sampling.get("n"),
    )
    return ModelEvent(
        model=call.model,
        role="judge" if call.stage == "scoring" else call.role,
        input=chat_messages(call.messages),
        tools=[],
        tool_choice="none",
        config=config,
        output=output,
        error=call.error,
        span_id=span,
        timestamp=started,
        completed=ended,
        working_time=call.latency_s,
        working_start=max((started - clock.start).total_seconds(), 0.0),
        retries=call.attempts - 1 if call.attempts > 1 else None,
        cache="read" if call.cached else None,
        metadata={"seq": call.seq, "stage": call.stage} if call.stage else {"seq": call.seq},
    )


def candidate_event(candidate: Candidate, clock: _Clock, span: str) -> InfoEvent:
    data = {
        "candidate": candidate.seq,
        "round": candidate.round,
        "kind": candidate.kind,
        "stage": candidate.stage,
        "answer": candidate.answer,
        "verdict": candidate.verdict.value if candidate.verdict else None,
        "score": candidate.score,
        "feedback": candidate.feedback,
        "call": candidate.call_seq,
    }
    return InfoEvent(
        source="redraft",
        data={k: v for k, v in data.items() if v is not None},
        span_id=span,
        timestamp=clock.now,
        working_start=clock.working,
    )


class _Clock:
    """Event times from the run's start and each call's recorded end (its latency before that)."""

    def __init__(self, started: str, times: dict[int, str]) -> None:
        self.start = datetime.fromisoformat(started)
        self.now = self.start
        self.times = {seq: datetime.fromisoformat(t) for seq, t in times.items()}

    @property
    def working(self) -> float:
        return max((self.now - self.start).total_seconds(), 0.0)

    def call(self, call: CallRecord) -> tuple[datetime, datetime]:
        ended = self.times.get(call.seq, self.now)
        started = max(self.start, datetime.fromtimestamp(ended.timestamp() - call.latency_s, ended.tzinfo))
        self.now = max(self.now, ended)
        return started, ended


def _score(correct: bool, answer: str | None, explanation: str, item: ItemResult, **extra: Any) -> Score:
    meta = {"oracle": item.oracle, **{k: v for k, v in extra.items() if v is not None}}
    return Score(
        value=CORRECT if correct else INCORRECT, answer=answer, explanation=explanation, metadata=meta
    )


def _flip(before: bool, after: bool) -> str:
    if before == after:
        return "stayed_right" if after else "stayed_wrong"
    return "wrong_to_right" if after else "right_to_wrong"


def _rounds(items: list[ItemResult]) -> list[list[bool]]:
    return [list(i.round_correct) or [i.correct] for i in items]


def _add(total: ModelUsage | None, used: ModelUsage) -> ModelUsage:
    return (
        used
        if total is None
        else usage_of(total.input_tokens + used.input_tokens, total.output_tokens + used.output_tokens)
    )


def _sum_usage(tables: Iterable[dict[str, ModelUsage]]) -> dict[str, ModelUsage]:
    summed: dict[str, ModelUsage] = {}
    for table in tables:
        for key, used in table.items():
            summed[key] = _add(summed.get(key), used)
    return summed


def _created(created_at: str) -> str:
    """An ISO time to the second, as Inspect's `created` (redraft stores milliseconds)."""
    return datetime.fromisoformat(created_at).isoformat(timespec="seconds")


def _completed(record: EvalRecord) -> str:
    ended = datetime.fromisoformat(record.created_at).timestamp() + record.wall_s
    return datetime.fromtimestamp(ended, datetime.fromisoformat(record.created_at).tzinfo).isoformat(
        timespec="seconds"
    )


def _slug(text: str) -> str:
    """A file-name part: Inspect replaces `_ / : +` with `-`; other characters a path may not hold too."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-.")[:80] or "x"


def _redacted(url: str | None) -> str | None:
    return redact(url) if url else None

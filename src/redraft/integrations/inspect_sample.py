"""One evaluation item as an Inspect sample: its run's events, its score, its flips (see `inspect_log`).

The run's trace in order, a span per round: a model event per call with its role (the grading
calls of a model-graded task in a last span, `scoring`, role `judge`), an info event per candidate
(its verdict, critic score, feedback), and after each round but the last an intermediate score
event: whether the answer the strategy would have given had it stopped there is right; then the
final score event. A call belongs to the round of the first outer candidate recorded after it (the
feedback on round r and the redraft it asks for are round r+1; a last approving critique is in the
last round). Times come from the run's start and each call's recorded end, less its latency.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from inspect_ai.event import InfoEvent, ModelEvent, ScoreEvent, SpanBeginEvent, SpanEndEvent
from inspect_ai.log import EvalError, EvalSample
from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessageAssistant,
    ChatMessageUser,
    GenerateConfig,
    ModelOutput,
    ModelUsage,
)
from inspect_ai.scorer import CORRECT, INCORRECT, Score

from redraft.integrations.inspect_model import chat_messages, usage_of
from redraft.runs.eval_store import ItemResult
from redraft.runs.store import RunDetail, RunStore
from redraft.trace import CallRecord, Candidate

#: The score's name in every exported log: the task's verdict, C or I.
SCORER = "correct"
#: redraft's finish reasons as Inspect's stop reasons.
STOP_REASONS = {
    "length": "max_tokens",
    "stop": "stop",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
}


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
            table[key] = add_usage(table.get(key), used)
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


def add_usage(total: ModelUsage | None, used: ModelUsage) -> ModelUsage:
    return (
        used
        if total is None
        else usage_of(total.input_tokens + used.input_tokens, total.output_tokens + used.output_tokens)
    )

"""What a strategy gets to work with: models per role, a budget and a trace.

Strategies never call a model directly: `Context.complete` binds the role,
checks the budget, goes through the managed model (limits, retries, usage) and
emits a trace record, so every method is traced and budgeted the same way.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import BaseModel, Field

from redraft.feedback.base import Feedback, Verdict
from redraft.models.base import Completion, Message, ModelError, Usage
from redraft.models.managed import ManagedModel

ROLE_FALLBACK = {"refiner": "generator", "critic": "generator"}


class Budget(BaseModel):
    """Limits on one solve. None means unlimited."""

    max_calls: int | None = None
    max_tokens: int | None = None


class BudgetExhausted(Exception):
    """Raised by `Context.complete` before a call the budget does not allow."""


class CallRecord(BaseModel):
    """One model call as the trace keeps it."""

    seq: int
    role: str
    model: str
    messages: list[dict[str, str]]
    sampling: dict[str, Any] = Field(default_factory=dict)
    text: str = ""
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    attempts: int = 1
    cached: bool = False
    error: str | None = None


class Candidate(BaseModel):
    """One candidate answer with the judgement it got, as the trace keeps it."""

    seq: int
    round: int
    kind: str
    text: str
    answer: str | None = None
    feedback: str | None = None
    verdict: Verdict | None = None
    score: float | None = None
    parent: int | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


Event = CallRecord | Candidate
Listener = Callable[[Event], None]


class Context:
    """Per-solve state: role bindings, budget, default sampling, recorded candidates."""

    def __init__(
        self,
        models: Mapping[str, ManagedModel],
        *,
        budget: Budget | None = None,
        sampling: Mapping[str, Any] | None = None,
        extract: Callable[[str], str | None] | None = None,
        listeners: Iterable[Listener] = (),
    ) -> None:
        if "generator" not in models:
            raise ValueError("a context needs at least a 'generator' model")
        self.models = dict(models)
        self.budget = budget or Budget()
        self.sampling = dict(sampling or {})
        self.extract = extract or (lambda text: text.strip() or None)
        self.listeners = list(listeners)
        self.candidates: list[Candidate] = []
        self.usage_by_role: dict[str, Usage] = defaultdict(Usage)
        self._calls_started = 0
        self._seq = 0

    def model_for(self, role: str) -> ManagedModel:
        while role not in self.models:
            role = ROLE_FALLBACK.get(role, "generator")
        return self.models[role]

    @property
    def usage(self) -> Usage:
        total = Usage()
        for usage in self.usage_by_role.values():
            total.add(usage)
        return total

    def _check_budget(self) -> None:
        budget = self.budget
        if budget.max_calls is not None and self._calls_started >= budget.max_calls:
            raise BudgetExhausted(f"call budget of {budget.max_calls} spent")
        if budget.max_tokens is not None and self.usage.total_tokens >= budget.max_tokens:
            raise BudgetExhausted(f"token budget of {budget.max_tokens} spent")

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    async def complete(self, role: str, messages: list[Message], **sampling: Any) -> Completion:
        """One traced, budgeted call in `role`; per-call sampling overrides the defaults."""
        self._check_budget()
        self._calls_started += 1
        model = self.model_for(role)
        params = {**self.sampling, **sampling}
        record = CallRecord(
            seq=self._next_seq(), role=role, model=model.name,
            messages=[dict(m) for m in messages], sampling=params,
        )
        try:
            completion = await model.complete(messages, role=role, **params)
        except ModelError as exc:
            self._emit(record.model_copy(update={"error": str(exc)}))
            raise
        self.usage_by_role[role].add(completion.usage())
        self._emit(record.model_copy(update={
            "model": completion.model or model.name,
            "text": completion.text,
            "finish_reason": completion.finish_reason,
            "prompt_tokens": completion.prompt_tokens,
            "completion_tokens": completion.completion_tokens,
            "latency_s": completion.latency_s,
            "attempts": completion.attempts,
            "cached": completion.cached,
        }))
        return completion

    def record(self, *, round: int, kind: str, text: str, **fields: Any) -> Candidate:
        """Keep a candidate (with its feedback, if any) in order and emit it to the trace."""
        fields.setdefault("answer", self.extract(text))
        candidate = Candidate(seq=self._next_seq(), round=round, kind=kind, text=text, **fields)
        self.candidates.append(candidate)
        self._emit(candidate)
        return candidate

    def annotate(self, candidate: Candidate, feedback: Feedback) -> Candidate:
        """Attach a judgement to a recorded candidate and emit the updated record."""
        candidate.feedback = feedback.text
        candidate.verdict = feedback.verdict
        candidate.score = feedback.score
        self._emit(candidate)
        return candidate

    def _emit(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)

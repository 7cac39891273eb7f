"""What a strategy gets to work with: models per role, a budget and a trace.

Strategies never call a model directly: `Context.complete` binds the role,
checks the budget, goes through the managed model (limits, retries, usage) and
emits a trace record, so every method is traced and budgeted the same way.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from redraft.feedback.base import Feedback, FeedbackSource, Verdict
from redraft.models.base import Completion, Message, ModelError, Usage
from redraft.models.managed import ManagedModel
from redraft.tasks.base import Problem

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")
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
    texts: list[str] = Field(default_factory=list)
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


async def gather(*calls: Awaitable[T]) -> list[T]:
    """Run independent calls concurrently; if one fails, cancel the rest and raise its error.

    Unlike `asyncio.gather`, no sibling is left running (and spending) after the
    budget runs out or a call fails, and the error is the plain exception the
    runner expects (BudgetExhausted, ModelError), not an exception group.
    """
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(_awaited(call)) for call in calls]
    except BaseExceptionGroup as errors:
        budget = [e for e in errors.exceptions if isinstance(e, BudgetExhausted)]
        others = [e for e in errors.exceptions if not isinstance(e, BudgetExhausted)]
        raise (others or budget)[0] from None
    return [task.result() for task in tasks]


async def both(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
    """`gather` for two calls of different types, typed as a pair."""
    a, b = await gather(first, second)  # type: ignore[arg-type]
    return a, b  # type: ignore[return-value]


async def _awaited(call: Awaitable[T]) -> T:
    return await call


Event = CallRecord | Candidate
Listener = Callable[[Event], None]


class Ledger:
    """What every context of one solve shares: budget counters, usage, sequence, listeners."""

    def __init__(self, budget: Budget, listeners: list[Listener]) -> None:
        self.budget = budget
        self.listeners = listeners
        self.usage_by_role: dict[str, Usage] = defaultdict(Usage)
        self.calls_started = 0
        self.seq = 0

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def reserve(self, calls: int) -> None:
        """Claim `calls` generations, or raise BudgetExhausted if the budget does not allow them."""
        budget = self.budget
        if budget.max_calls is not None and self.calls_started + calls > budget.max_calls:
            raise BudgetExhausted(f"call budget of {budget.max_calls} spent")
        if budget.max_tokens is not None and self.total_tokens() >= budget.max_tokens:
            raise BudgetExhausted(f"token budget of {budget.max_tokens} spent")
        self.calls_started += calls

    def total_tokens(self) -> int:
        return sum(u.total_tokens for u in self.usage_by_role.values())

    def emit(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)


Drafter = Callable[[Problem, "Context", int], Awaitable[list[str]]]


class Context:
    """Per-solve state: role bindings, budget, default sampling, recorded candidates.

    `draft`/`drafts` are how a strategy gets first attempts: by default a plain
    generation, but a composed strategy (`a>b`) makes them runs of `a`.
    """

    def __init__(
        self,
        models: Mapping[str, ManagedModel],
        *,
        budget: Budget | None = None,
        sampling: Mapping[str, Any] | None = None,
        extract: Callable[[str], str | None] | None = None,
        listeners: Iterable[Listener] = (),
        drafter: Drafter | None = None,
        ledger: Ledger | None = None,
        stage: str | None = None,
    ) -> None:
        if "generator" not in models:
            raise ValueError("a context needs at least a 'generator' model")
        self.models = dict(models)
        self.sampling = dict(sampling or {})
        self.extract = extract or (lambda text: text.strip() or None)
        self.ledger = ledger or Ledger(budget or Budget(), list(listeners))
        self.drafter = drafter
        self.stage = stage
        self.candidates: list[Candidate] = []

    @property
    def budget(self) -> Budget:
        return self.ledger.budget

    @property
    def usage_by_role(self) -> dict[str, Usage]:
        return self.ledger.usage_by_role

    @property
    def usage(self) -> Usage:
        return Usage.total(self.usage_by_role.values())

    def child(self, stage: str, drafter: Drafter | None = None) -> Context:
        """A context for a nested strategy: same models, budget and trace; its own candidates."""
        return Context(self.models, sampling=self.sampling, extract=self.extract,
                       drafter=drafter, ledger=self.ledger, stage=stage)

    def model_for(self, role: str) -> ManagedModel:
        while role not in self.models:
            role = ROLE_FALLBACK.get(role, "generator")
        return self.models[role]

    async def complete(self, role: str, messages: list[Message], **sampling: Any) -> Completion:
        """One traced, budgeted call in `role`; per-call sampling overrides the defaults."""
        [completion] = await self.sample(role, messages, 1, **sampling)
        return completion

    async def ask(self, role: str, prompt: str, **sampling: Any) -> str:
        """One single-turn question in `role`; most feedback and refine steps are exactly this."""
        return (await self.complete(role, [{"role": "user", "content": prompt}], **sampling)).text

    async def sample(self, role: str, messages: list[Message], n: int, **sampling: Any) -> list[Completion]:
        """`n` independent samples: one request with `n` where the endpoint supports it,
        else concurrent requests. Each sample counts as one call against the budget."""
        self.ledger.reserve(n)
        model = self.model_for(role)
        params = {**self.sampling, **sampling}
        record = CallRecord(
            seq=self.ledger.next_seq(), role=role, model=model.name,
            messages=[dict(m) for m in messages], sampling={**params, **({"n": n} if n > 1 else {})},
        )
        try:
            completions = await model.complete_many(messages, n, role=role, **params)
        except ModelError as exc:
            self.ledger.emit(record.model_copy(update={"error": str(exc)}))
            raise
        for completion in completions:
            self.usage_by_role[role].add(completion.usage())
        first = completions[0]
        self.ledger.emit(record.model_copy(update={
            "model": first.model or model.name,
            "text": first.text if n == 1 else "",
            "texts": [c.text for c in completions] if n > 1 else [],
            "finish_reason": first.finish_reason,
            "prompt_tokens": sum(c.prompt_tokens for c in completions),
            "completion_tokens": sum(c.completion_tokens for c in completions),
            "latency_s": max(c.latency_s for c in completions),
            "attempts": max(c.attempts for c in completions),
            "cached": all(c.cached for c in completions),
        }))
        return completions

    async def drafts(self, problem: Problem, n: int, **sampling: Any) -> list[str]:
        """`n` first attempts at `problem`: plain samples, or runs of the composed drafter."""
        if self.drafter is not None:
            return await self.drafter(problem, self, n)
        messages: list[Message] = [{"role": "user", "content": problem.prompt}]
        return [c.text for c in await self.sample("generator", messages, n, **sampling)]

    async def samples(self, problem: Problem, n: int, **sampling: Any) -> list[Candidate]:
        """`n` first attempts, recorded as round-0 `sample` candidates (what votes and evals read)."""
        texts = await self.drafts(problem, n, **sampling)
        return [self.record(round=0, kind="sample", text=text, metadata={"index": i})
                for i, text in enumerate(texts)]

    async def judge_all(
        self, source: FeedbackSource, problem: Problem, candidates: list[Candidate]
    ) -> list[Feedback]:
        """Judge independent candidates concurrently and attach each judgement to its candidate."""
        judgements = await gather(*(source.judge(problem, c.text, self) for c in candidates))
        for candidate, judgement in zip(candidates, judgements, strict=True):
            self.annotate(candidate, judgement)
        return judgements

    async def draft(self, problem: Problem, **sampling: Any) -> str:
        [text] = await self.drafts(problem, 1, **sampling)
        return text

    def record(self, *, round: int, kind: str, text: str, **fields: Any) -> Candidate:
        """Keep a candidate (with its feedback, if any) in order and emit it to the trace."""
        fields.setdefault("answer", self.extract(text))
        if self.stage:
            fields.setdefault("metadata", {})["stage"] = self.stage
        candidate = Candidate(seq=self.ledger.next_seq(), round=round, kind=kind, text=text, **fields)
        self.candidates.append(candidate)
        self.ledger.emit(candidate)
        return candidate

    def annotate(self, candidate: Candidate, feedback: Feedback) -> Candidate:
        """Attach a judgement to a recorded candidate and emit the updated record."""
        candidate.feedback = feedback.text
        candidate.verdict = feedback.verdict
        candidate.score = feedback.score
        return self.update(candidate)

    def update(self, candidate: Candidate) -> Candidate:
        """Re-emit a recorded candidate after changing it (a review with no verdict, a new Q value)."""
        self.ledger.emit(candidate)
        return candidate

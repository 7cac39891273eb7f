"""The execution kernel: what a strategy gets to work with on one solve.

Strategies never call a model directly: `Context.complete` binds the role, checks the
budget, goes through the managed model (limits, retries, cache, usage) and emits a trace
record, so every method is traced and budgeted the same way and no strategy ever sees
scheduling. Roles are declared: a role name nobody declared is an error, never a silent
fallback, so `--role reward=...` cannot quietly miss the calls it was meant for.

Two rules keep the figures honest: the budget is claimed on each call's worst case before
it is sent (`Ledger.reserve`), so a token budget is never passed; and in a seeded run each
call's seed is the run's seed plus the number of calls the solve started before it (the
sample index), so N samples drawn as N calls are N draws, not N cache hits of one.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol, TypeVar

from redraft.budget import (  # noqa: F401  (re-exported: the kernel's names of the first release)
    USEFUL_TOKENS,
    Budget,
    BudgetAccount,
    BudgetExhausted,
    Grant,
    estimate_prompt_tokens,
)
from redraft.errors import UsageError
from redraft.models.base import Completion, Message, ModelError, Usage
from redraft.models.managed import ManagedModel
from redraft.roles import (  # noqa: F401  (re-exported)
    ROLES,
    RoleError,
    check_role,
    fallback,
    sampling_for,
)
from redraft.tasks.base import Problem
from redraft.trace import CallRecord, Candidate, Event, Feedback, Listener, Pick

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")

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


class Judge(Protocol):
    """What `Context.judge` needs of a feedback source (the full protocol is in `redraft.feedback`)."""

    async def judge(self, problem: Problem, candidate: str, ctx: Context) -> Feedback: ...


class Ledger(BudgetAccount):
    """What every context of one solve shares: budget counters and usage (`BudgetAccount`),
    sequence, listeners, store.

    `store` is per-solve state a feedback source may keep (ProgCo's program), so nothing
    leaks into another solve through a reused source; `outputs` maps each call's output
    text to its seq, so a recorded candidate can name the call that wrote it.
    """

    def __init__(self, budget: Budget, listeners: list[Listener], *, first_seq: int = 0) -> None:
        super().__init__(budget)
        self.listeners = listeners
        self.seq = first_seq
        self.store: dict[str, Any] = {}
        self.outputs: dict[str, int] = {}
        self.seq_of_last_call: int | None = None
        #: The full problem (reference, hidden tests): read only through `Context.oracle_view`.
        self.full_problem: Problem | None = None
        #: The turns before the problem (a served request's system prompt and earlier turns):
        #: every call of the solve is sent after them, so each stage sees the whole conversation.
        self.conversation: list[dict[str, Any]] = []
        #: Turns after the problem (a tool call and its result, a prefill): sent after it in first
        #: drafts only, so a plain generation continues the conversation the client sent.
        self.trailing: list[dict[str, Any]] = []
        #: What only the answer gets (a served request's tools, format, streaming): see FinalStage.
        self.final: FinalStage | None = None

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def call_for(self, text: str) -> int | None:
        """The call whose output is `text`: exactly, else the latest whose output ends or holds it."""
        if text in self.outputs:
            return self.outputs[text]
        stripped = text.strip()
        if not stripped:
            return None
        for predicate in (lambda out: stripped.endswith(out.strip()), lambda out: stripped in out):
            found = [seq for out, seq in self.outputs.items() if out.strip() and predicate(out)]
            if found:
                return max(found)
        return None

    def emit(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)


#: The roles whose output may become a strategy's answer (a rewriter's or planner's may not).
ANSWER_ROLES = ("generator", "refiner")


class FinalStage:
    """What a served request asks of the call whose output is the answer, and nothing else.

    `answer` (e.g. `response_format`) goes to every `ANSWER_ROLES` call, since each may become
    the answer; `tools` (tools, tool_choice) and `on_delta` (streaming) go only to a call the
    strategy marks `final=True`, the one whose text is certainly its answer (`direct`'s draft).
    A strategy without one reports it (`streamed` stays False), and the server says so.
    """

    def __init__(self, *, answer: Mapping[str, Any] | None = None, tools: Mapping[str, Any] | None = None,
                 on_delta: Callable[[dict[str, Any]], Awaitable[None]] | None = None) -> None:
        self.answer = dict(answer or {})
        self.tools = dict(tools or {})
        self.on_delta = on_delta
        #: The seq of the call marked final, once made; its completion is the answer's.
        self.call_seq: int | None = None
        self.completion: Completion | None = None
        #: Whether its tokens went to `on_delta` as they came (a model that cannot stream: no).
        self.streamed = False


#: Makes up to `n` first drafts of a problem with the given sampling (a composed inner strategy).
Drafter = Callable[[Problem, "Context", int, Mapping[str, Any]], Awaitable[list[str]]]
Selector = Callable[[list[Candidate]], Candidate | None]


def prompt_tokens_of(model: ManagedModel, messages: list[Message]) -> int:
    """The prompt's tokens: the model's own count where it has one, else a conservative estimate."""
    count = getattr(model.inner, "count_tokens", None)
    return int(count(messages)) if callable(count) else estimate_prompt_tokens(messages)


class Context:
    """Per-solve state: role bindings, budget, default sampling, recorded candidates.

    `first_draft`/`first_drafts` are how a strategy gets first attempts: by default a plain
    generation, but in a composition (`a>b`) they are runs of `a`.
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
        select: Selector | None = None,
        full_problem: Problem | None = None,
    ) -> None:
        if "generator" not in models:
            raise RoleError("a context needs at least a 'generator' model")
        for role in models:
            check_role(role)
        self.models = dict(models)
        self.sampling = dict(sampling or {})
        self.extract = extract or (lambda text: text.strip() or None)
        self.ledger = ledger or Ledger(budget or Budget(), list(listeners))
        if full_problem is not None:
            self.ledger.full_problem = full_problem
        self.drafter = drafter
        self.stage = stage
        self.candidates: list[Candidate] = []
        #: The strategy's final-answer rule; given (by the runner, to the outer context only),
        #: the context emits a `Pick` at the end of every round, while the strategy runs.
        self.select = select
        self.picks: list[Pick] = []

    @property
    def budget(self) -> Budget:
        return self.ledger.budget

    @property
    def store(self) -> dict[str, Any]:
        """State that lives for this solve only, shared with its nested stages."""
        return self.ledger.store

    @property
    def usage_by_role(self) -> dict[str, Usage]:
        return self.ledger.usage_by_role

    @property
    def usage(self) -> Usage:
        return Usage.total(self.usage_by_role.values())

    def child(self, stage: str, drafter: Drafter | None = None,
              sampling: Mapping[str, Any] | None = None) -> Context:
        """A context for a nested strategy: same models, budget and trace; its own candidates."""
        return Context(self.models, sampling={**self.sampling, **(sampling or {})}, extract=self.extract,
                       drafter=drafter, ledger=self.ledger, stage=stage)

    def sampled(self, **sampling: Any) -> Context:
        """This context with other default sampling, for calls a strategy makes through others.

        E.g. MCTSr's critiques go through its feedback source, which calls `ctx.ask` with no
        temperature; handing the source `ctx.sampled(temperature=...)` makes them samples.
        Everything else (candidates, picks, stage, drafter, budget, trace) is shared, not copied.
        """
        view = Context(self.models, sampling={**self.sampling, **sampling}, extract=self.extract,
                       drafter=self.drafter, ledger=self.ledger, stage=self.stage, select=self.select)
        view.candidates = self.candidates
        view.picks = self.picks
        return view
    def oracle_view(self, problem: Problem) -> Problem:
        """`problem` with the reference and hidden tests back: for oracle feedback sources only.

        Strategies get `Problem.public()`; an oracle source (labelled, upper bound only) is the
        one reader allowed the answer, so it asks here explicitly instead of every strategy
        carrying it. Without a full problem (a context built by hand), `problem` is returned.
        """
        full = self.ledger.full_problem
        return problem if full is None else problem.with_private(full)

    def model_for(self, role: str) -> ManagedModel:
        """The model bound to `role`, or to the role it falls back to."""
        current: str | None = check_role(role)
        while current is not None and current not in self.models:
            current = fallback(current)
        return self.models[current or "generator"]

    async def complete(self, role: str, messages: list[Message], **sampling: Any) -> Completion:
        """One traced, budgeted call in `role`; per-call sampling overrides the defaults."""
        [completion] = await self.complete_n(role, messages, 1, **sampling)
        return completion

    async def ask(self, role: str, prompt: str, **sampling: Any) -> str:
        """One single-turn question in `role`; most feedback and refine steps are exactly this."""
        return (await self.complete(role, [{"role": "user", "content": prompt}], **sampling)).text

    async def complete_n(
        self, role: str, messages: list[Message], n: int, *, partial: bool = False, final: bool = False,
        **sampling: Any,
    ) -> list[Completion]:
        """`n` independent completions: one request with `n` where the endpoint supports it,
        else concurrent requests. Each counts as one call against the budget.

        The budget is claimed before anything is sent (see `Ledger.reserve`): with `partial`, a
        budget that cannot pay for all `n` gives fewer (at least one) instead of none. A seeded
        call's seed is offset by the number of calls this solve started before it (the sample
        index), so separate calls of one seeded run never share a seed: N samples drawn by N
        calls, a drafter run per sample, or repeated re-grades stay N different draws, and the
        response cache (keyed on the seed) never hands back one of them N times.
        """
        model = self.model_for(role)
        params = sampling_for(role, {**self.sampling, **sampling})  # judging roles: a larger cap
        prompt_tokens = 0 if self.budget.max_tokens is None else prompt_tokens_of(model, messages)
        index = self.ledger.calls_started
        grant = self.ledger.reserve(n, prompt_tokens, params.get("max_tokens"), partial=partial)
        n = grant.n
        if grant.max_tokens is not None:
            params["max_tokens"] = grant.max_tokens
        if params.get("seed") is not None:
            params["seed"] = int(params["seed"]) + index
        stage = self.ledger.final
        final = final and stage is not None and n == 1 and self.stage is None
        if stage is not None and role in ANSWER_ROLES:
            params.update(stage.answer)
        if final and stage is not None:
            params.update(stage.tools)
            if stage.on_delta is not None and getattr(model.inner, "supports_stream", False):
                params["on_delta"] = stage.on_delta
                stage.streamed = True
        messages = [*self.ledger.conversation, *messages]  # type: ignore[list-item]
        try:
            completions = await self._send(model, role, messages, n, params)
        finally:
            self.ledger.settle(grant)
        if final and stage is not None:
            stage.call_seq, stage.completion = self.ledger.seq_of_last_call, completions[0]
        return completions

    async def _send(self, model: ManagedModel, role: str, messages: list[Message], n: int,
                    params: dict[str, Any]) -> list[Completion]:
        """Make the (already budgeted) call and trace it, failed or not."""
        shown = {k: v for k, v in params.items() if k != "on_delta"}  # a callback is no record
        record = CallRecord(
            seq=self.ledger.next_seq(), role=role, model=model.name, stage=self.stage,
            messages=[dict(m) for m in messages], sampling={**shown, **({"n": n} if n > 1 else {})},
        )
        self.ledger.seq_of_last_call = record.seq
        try:
            completions = await model.complete_many(messages, n, role=role, **params)
        except ModelError as exc:
            self.ledger.emit(record.model_copy(update={"error": str(exc)}))
            raise
        for completion in completions:
            self.usage_by_role[role].add(completion.usage())
            self.ledger.outputs[completion.text] = record.seq
        first = completions[0]
        if n > 1:
            # How many requests the n samples took: one with `n` (the endpoint bills the prompt once,
            # on the first sample), or one per sample where it ignored `n` (each pays its prompt).
            # What k of them would have cost depends on it (`runs.metrics.ResamplingCost`).
            requests = max(1, sum(1 for c in completions if c.prompt_tokens > 0))
            record = record.model_copy(update={"sampling": {**record.sampling, "requests": requests}})
        self.ledger.emit(record.model_copy(update={
            "model": first.model or model.name,
            "text": first.text if n == 1 else "",
            "texts": [c.text for c in completions] if n > 1 else [],
            # One reason per call: with n > 1, "length" if any sample was cut off, so the truncated
            # share of calls counts a batch with a cut sample (the first's reason alone hid it).
            "finish_reason": ("length" if any(c.finish_reason == "length" for c in completions)
                              else first.finish_reason),
            "prompt_tokens": sum(c.prompt_tokens for c in completions),
            "completion_tokens": sum(c.completion_tokens for c in completions),
            "latency_s": max(c.latency_s for c in completions),
            "attempts": max(c.attempts for c in completions),
            "cached": all(c.cached for c in completions),
        }))
        return completions

    async def first_drafts(
        self, problem: Problem, n: int, *, final: bool = False, **sampling: Any
    ) -> list[str]:
        """Up to `n` first attempts at `problem`: plain generations, or runs of the composed drafter.

        A drafter run gets this call's sampling (a sampler's temperature reaches the strategy
        that drafts for it). Fewer than `n` come back when the budget pays for fewer (at least
        one, else BudgetExhausted), so a sampler votes over what it could afford.
        """
        if self.drafter is not None:
            return await self.drafter(problem, self, n, sampling)
        return [c.text for c in await self.first_completions(problem, n, final=final, **sampling)]

    async def first_completions(
        self, problem: Problem, n: int, *, final: bool = False, **sampling: Any
    ) -> list[Completion]:
        """Up to `n` plain first generations, whole (token logprobs included when asked): for a
        method that reads more than the text. A composed drafter gives texts only, so with one
        this is a UsageError rather than a silent plain generation."""
        if self.drafter is not None:
            raise UsageError("this step reads whole completions (e.g. their logprobs); a composed "
                             "drafter gives texts only: run it without `A>` composition")
        messages: list[Message] = [{"role": "user", "content": problem.prompt},
                                   *self.ledger.trailing]  # type: ignore[list-item]
        return await self.complete_n("generator", messages, n, partial=True, final=final, **sampling)

    async def first_draft(self, problem: Problem, *, final: bool = False, **sampling: Any) -> str:
        """One first attempt; `final=True` when it is certainly the answer (see `FinalStage`)."""
        [text] = await self.first_drafts(problem, 1, final=final, **sampling)
        return text

    async def sample_candidates(self, problem: Problem, n: int, **sampling: Any) -> list[Candidate]:
        """`n` first attempts, recorded as round-0 `sample` candidates (what votes and evals read)."""
        texts = await self.first_drafts(problem, n, **sampling)
        return [self.record(round=0, kind="sample", text=text, metadata={"index": i})
                for i, text in enumerate(texts)]

    async def judge(self, source: Judge, problem: Problem, candidate: Candidate) -> Feedback:
        """Judge a recorded candidate and attach the judgement to it (and to the trace)."""
        feedback = await source.judge(problem, candidate.text, self)
        self.annotate(candidate, feedback)
        return feedback

    async def judge_all(self, source: Judge, problem: Problem, candidates: list[Candidate]) -> list[Feedback]:
        """Judge independent candidates concurrently, each judgement attached to its candidate."""
        return await gather(*(self.judge(source, problem, c) for c in candidates))

    def record(self, *, round: int, kind: str, text: str, **fields: Any) -> Candidate:
        """Keep a candidate (with its feedback, if any) in order and emit it to the trace."""
        fields.setdefault("answer", self.extract(text))
        fields.setdefault("call_seq", self.ledger.call_for(text))
        if self.candidates and round > max(c.round for c in self.candidates):
            self._pick_round(max(c.round for c in self.candidates))
        candidate = Candidate(seq=self.ledger.next_seq(), round=round, kind=kind, text=text,
                              stage=self.stage, **fields)
        self.candidates.append(candidate)
        self.ledger.emit(candidate)
        return candidate

    def _pick_round(self, round_number: int) -> None:
        """Round `round_number` is over: emit what `select` picks from a snapshot of it now.

        The snapshot is a deep copy, so the pick records the fields as they are at this
        moment, and `select` (pure, but handed objects the strategy keeps changing) cannot
        be steered by changes made later.
        """
        if self.select is not None:
            snapshot = [c.model_copy(deep=True) for c in self.candidates]
            self.emit_pick(round_number, self.select(snapshot))

    def emit_pick(self, round_number: int, chosen: Candidate | None) -> Pick:
        """Record and emit the answer of one round (the runner emits the last: the final answer)."""
        pick = Pick(round=round_number, stage=self.stage,
                    candidate_seq=chosen.seq if chosen else None, text=chosen.text if chosen else "",
                    answer=chosen.answer if chosen else None, score=chosen.score if chosen else None)
        self.picks.append(pick)
        self.ledger.emit(pick)
        return pick

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

    # The names of the first release, kept for one more (they said less about what they do).
    async def sample(self, role: str, messages: list[Message], n: int, **sampling: Any) -> list[Completion]:
        _renamed("sample", "complete_n")
        return await self.complete_n(role, messages, n, **sampling)

    async def drafts(self, problem: Problem, n: int, **sampling: Any) -> list[str]:
        _renamed("drafts", "first_drafts")
        return await self.first_drafts(problem, n, **sampling)

    async def draft(self, problem: Problem, **sampling: Any) -> str:
        _renamed("draft", "first_draft")
        return await self.first_draft(problem, **sampling)

    async def samples(self, problem: Problem, n: int, **sampling: Any) -> list[Candidate]:
        _renamed("samples", "sample_candidates")
        return await self.sample_candidates(problem, n, **sampling)


def _renamed(old: str, new: str) -> None:
    warnings.warn(f"Context.{old} is now Context.{new}", DeprecationWarning, stacklevel=3)

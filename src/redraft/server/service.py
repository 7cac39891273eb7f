"""What every request shares: the upstream models, the role bindings, the run store, the metrics.

`run_choice` is one strategy run for one choice of a request, through the library's own runner,
so a served request is recorded, budgeted and traced exactly as `redraft run` would be.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from redraft.context import FinalStage
from redraft.models.base import Completion, ModelError, Usage
from redraft.models.managed import ManagedModel
from redraft.models.openai_compat import OpenAICompatibleModel
from redraft.models.resolve import ModelConfig, managed_model
from redraft.runs.outcome import Outcome
from redraft.runs.runner import run_strategy
from redraft.runs.store import RunStore
from redraft.server.chat import ChatJob, check_format
from redraft.server.config import ServerConfig
from redraft.server.errors import ApiError, from_model_error
from redraft.server.metrics import Metrics
from redraft.trace import CallRecord, Candidate, Event

#: Upstream models kept open at once (one client each); a client naming many models evicts the oldest.
MAX_MODELS = 64
#: A seeded request's choice i runs with seed + i * SEED_STRIDE, so n choices are n draws.
SEED_STRIDE = 1_000_003

OnDelta = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class ChoiceResult:
    """One finished run and what the response needs from it beyond the outcome."""

    outcome: Outcome
    message: dict[str, Any]
    finish_reason: str
    streamed: bool
    #: Whether the strategy made a final call (the one that gets tools and streams).
    final_call: bool = False
    calls: list[CallRecord] = field(default_factory=list)


class Service:
    def __init__(
        self,
        config: ServerConfig,
        store: RunStore,
        metrics: Metrics,
        models: dict[str, ManagedModel] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.metrics = metrics
        #: Fixed models by role (tests, embedded): when given, `generator` is used for every model name.
        self.fixed = dict(models or {})
        self.roles = {role: managed_model(c) for role, c in config.roles.items()}
        self._pool: OrderedDict[str, ManagedModel] = OrderedDict()
        self._in_use: dict[int, int] = {}
        self._retired: dict[int, ManagedModel] = {}

    def upstream_key(self) -> str | None:
        """`--upstream-api-key`, else $OPENAI_API_KEY: the same key for every call and the forwarder."""
        return self.config.upstream_api_key or os.environ.get("OPENAI_API_KEY") or None

    def generator(self, name: str) -> ManagedModel:
        """The upstream model `name` (one client per name, kept open), or the fixed generator.

        A client's model name only ever names a model *of the upstream*: it is sent as it is and
        never read as `local:PATH` (which would let a client make the server open files).
        """
        if "generator" in self.fixed:
            return self.fixed["generator"]
        if self.config.upstream is None:
            name = "local"
        if name not in self._pool:
            if len(self._pool) >= MAX_MODELS:
                _, oldest = self._pool.popitem(last=False)
                self._retire(oldest)
            if self.config.upstream is None:
                self._pool[name] = managed_model(ModelConfig(model="local"))
            else:
                inner = OpenAICompatibleModel(
                    name,
                    base_url=self.config.upstream,
                    api_key=self.upstream_key(),
                    timeout_s=self.config.upstream_timeout_s,
                )
                self._pool[name] = ManagedModel(
                    inner,
                    max_concurrency=self.config.upstream_concurrency,
                    max_retries=self.config.upstream_retries,
                )
        self._pool.move_to_end(name)
        return self._pool[name]

    def _retire(self, model: ManagedModel) -> None:
        """Close an evicted model once no request uses it (closing it now would break those that do)."""
        if self._in_use.get(id(model), 0) == 0:
            asyncio.get_running_loop().create_task(model.aclose())
        else:
            self._retired[id(model)] = model

    @contextlib.contextmanager
    def leased(self, job: ChatJob) -> Iterator[dict[str, ManagedModel]]:
        """The models of one run, held so that evicting one from the pool waits for the run to end."""
        bound = {**self.roles, **{r: m for r, m in self.fixed.items() if r != "generator"}}
        generator = self.generator(job.selection.model)
        key = id(generator)
        self._in_use[key] = self._in_use.get(key, 0) + 1
        try:
            yield {**bound, "generator": generator}
        finally:
            self._in_use[key] -= 1
            if self._in_use[key] == 0:
                del self._in_use[key]
                retired = self._retired.pop(key, None)
                if retired is not None:
                    asyncio.get_running_loop().create_task(retired.aclose())

    async def run_choice(
        self,
        job: ChatJob,
        index: int,
        *,
        on_delta: OnDelta | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> ChoiceResult:
        """Choice `index` of `job`: one strategy run, recorded; failures become `ApiError`s."""
        calls: list[CallRecord] = []

        def listen(event: Event) -> None:
            if isinstance(event, CallRecord):
                calls.append(event)
                self.metrics.upstream_call(event)
            if on_event is not None:
                on_event(event)

        sampling = dict(job.sampling)
        if sampling.get("seed") is not None:
            sampling["seed"] = int(sampling["seed"]) + index * SEED_STRIDE
        final = FinalStage(answer=job.answer, tools=job.tools, on_delta=on_delta)
        try:
            with self.leased(job) as models:
                outcome = await run_strategy(
                    job.strategy,
                    job.problem,
                    models,
                    budget=job.budget,
                    sampling=sampling,
                    store=self.store,
                    listeners=[listen],
                    conversation=job.conversation,
                    trailing=job.trailing,
                    final_stage=final,
                )
        except ModelError as exc:
            raise from_model_error(exc) from exc
        return self._result(job, outcome, final, calls)

    def _result(
        self, job: ChatJob, outcome: Outcome, final: FinalStage, calls: list[CallRecord]
    ) -> ChoiceResult:
        seq = outcome.picks[-1].candidate_seq if outcome.picks else None
        chosen = next((c for c in outcome.candidates if c.seq == seq), None)
        completion: Completion | None = None
        if final.completion is not None and chosen is not None and chosen.call_seq == final.call_seq:
            completion = final.completion
        message: dict[str, Any] = {"role": "assistant", "content": outcome.text}
        if completion is not None and completion.tool_calls:
            message["content"] = completion.text or None
            message["tool_calls"] = completion.tool_calls
        if completion is not None and completion.reasoning:
            message["reasoning_content"] = completion.reasoning
        if "tool_calls" not in message:
            check_format(outcome.text, job.answer.get("response_format"))
        return ChoiceResult(
            outcome=outcome,
            message=message,
            finish_reason=finish_reason(chosen, completion, calls),
            streamed=completion is not None and final.streamed,
            final_call=final.call_seq is not None,
            calls=calls,
        )

    async def aclose(self) -> None:
        for model in [*self._pool.values(), *self._retired.values(), *self.roles.values()]:
            await model.aclose()
        self._pool.clear()


def finish_reason(chosen: Candidate | None, completion: Completion | None, calls: list[CallRecord]) -> str:
    """Why the answer ended: its own call's reason (`length` when that call was cut), else `stop`."""
    if completion is not None:
        if completion.tool_calls:
            return "tool_calls"
        return completion.finish_reason or "stop"
    if chosen is not None and chosen.call_seq is not None:
        for call in calls:
            if call.seq == chosen.call_seq and call.finish_reason == "length":
                return "length"
    return "stop"


def usage_of(results: list[ChoiceResult]) -> dict[str, int]:
    usage = Usage.total(r.outcome.usage for r in results)
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    }


def metadata(job: ChatJob, results: list[ChoiceResult]) -> dict[str, Any]:
    """The `redraft` field of a response: what ran, how long, at what cost, per role."""
    by_role: dict[str, Usage] = {}
    for result in results:
        for role, usage in result.outcome.usage_by_role.items():
            by_role.setdefault(role, Usage()).add(usage)
    info: dict[str, Any] = {
        "run_ids": [r.outcome.run_id for r in results],
        "strategy": job.strategy.full_name,
        "spec": job.spec,
        "rounds": [max((c.round for c in r.outcome.candidates), default=0) for r in results],
        "calls": sum(r.outcome.usage.calls for r in results),
        "stop_reasons": [r.outcome.stop_reason for r in results],
        "usage_by_role": {role: u.model_dump(exclude={"latency_s"}) for role, u in by_role.items()},
    }
    if job.tools and not any(r.final_call for r in results):
        info["tools"] = f"not offered: {job.spec} has no final call that can use tools; its answer is text"
    if job.ignored:
        info["ignored"] = job.ignored
    return info


def header_value(text: str) -> str:
    """`text` as a header may carry it: ASCII, no line breaks (a spec is the client's text)."""
    return text.encode("ascii", "backslashreplace").decode().replace("\r", " ").replace("\n", " ")


def headers(job: ChatJob, results: list[ChoiceResult]) -> dict[str, str]:
    extra = {"x-redraft-tools": "not offered"} if job.tools and not any(r.final_call for r in results) else {}
    return {
        **extra,
        "x-redraft-run-id": ",".join(str(r.outcome.run_id) for r in results),
        "x-redraft-strategy": header_value(job.spec),
        "x-redraft-calls": str(sum(r.outcome.usage.calls for r in results)),
    }


def completion_id() -> str:
    return "chatcmpl-" + uuid.uuid4().hex


def now() -> int:
    return int(time.time())


__all__ = ["ApiError", "ChoiceResult", "Service"]

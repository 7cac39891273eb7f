"""A strategy run as an OpenAI stream: real tokens when they exist, keep-alives while they do not.

The final stage's tokens are forwarded as the upstream makes them (a strategy's final call,
`direct`'s one call); a strategy that picks its answer among finished candidates (a vote, a
refinement loop that stopped on the critic's word) sends the chosen text when it is chosen.
While hidden stages run, the stream is held (`stream_hold_s`) so a failure in that window still
gets its real status code; after that it commits to 200 and sends SSE comments
(`: redraft stage=critic round=1`) so a load balancer's idle timeout does not cut a long run.
A failure after the commit is sent in-band as an OpenAI error event, then `[DONE]`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from redraft.server.chat import ChatJob
from redraft.server.errors import ApiError
from redraft.server.service import ChoiceResult, Service, completion_id, metadata, now, usage_of
from redraft.trace import CallRecord, Candidate, Event

log = logging.getLogger("redraft.server")


@dataclass
class Comment:
    """An SSE comment line: ignored by every client, but it keeps the connection alive."""

    text: str


StreamItem = dict[str, Any] | Comment | ApiError


class ChatStream:
    """Runs a job's `n` choices concurrently and yields what a streaming response sends."""

    def __init__(self, service: Service, job: ChatJob, *, model: str, keepalive_s: float) -> None:
        self.service = service
        self.job = job
        self.model = model
        self.keepalive_s = keepalive_s
        self.id = completion_id()
        self.created = now()
        self.queue: asyncio.Queue[tuple[str, int, Any]] = asyncio.Queue()
        self.tasks: list[asyncio.Task[None]] = []
        self.results: dict[int, ChoiceResult] = {}
        self.stage, self.round = "generator", 0
        self._held: tuple[str, int, Any] | None = None

    def start(self) -> None:
        self.tasks = [asyncio.create_task(self._run(i)) for i in range(self.job.request.n)]

    async def _run(self, index: int) -> None:
        async def on_delta(delta: dict[str, Any]) -> None:
            await self.queue.put(("delta", index, delta))

        def on_event(event: Event) -> None:
            if isinstance(event, CallRecord):
                self.stage = event.role
                if self.job.selection.progress and event.error is None:
                    self.queue.put_nowait(("progress", index, event))
            elif isinstance(event, Candidate):
                self.round = event.round

        try:
            result = await self.service.run_choice(self.job, index, on_delta=on_delta, on_event=on_event)
        except ApiError as exc:
            await self.queue.put(("failed", index, exc))
        except Exception as exc:  # a bug: reported in-band, logged with its traceback
            log.exception("strategy run failed")
            await self.queue.put(
                ("failed", index, ApiError(500, f"internal error: {type(exc).__name__}: {exc}"))
            )
        else:
            await self.queue.put(("done", index, result))

    async def hold(self, seconds: float) -> ApiError | None:
        """Wait up to `seconds` for the first thing to send; a failure by then is returned, to be
        answered with its real status instead of a 200 stream."""
        with contextlib.suppress(TimeoutError):
            self._held = await asyncio.wait_for(self.queue.get(), seconds)
        if self._held is not None and self._held[0] == "failed":
            await self.aclose()
            return self._held[2]
        return None

    async def open(self, request: web.Request, hold_s: float, headers: dict[str, str]) -> web.StreamResponse:
        """Start the runs, hold the response up to `hold_s` (a failure by then is raised, to be
        answered with its real status), then commit to a 200 stream."""
        self.start()
        failure = await self.hold(hold_s)
        if failure is not None:
            raise failure
        response = web.StreamResponse(status=200, headers=headers)
        await response.prepare(request)
        return response

    async def items(self) -> AsyncIterator[StreamItem]:
        n = self.job.request.n
        for index in range(n):
            yield self._chunk(index, {"role": "assistant", "content": ""})
        while len(self.results) < n:
            if self._held is not None:
                item, self._held = self._held, None
            else:
                try:
                    item = await asyncio.wait_for(self.queue.get(), self.keepalive_s)
                except TimeoutError:
                    yield Comment(f"redraft stage={self.stage} round={self.round}")
                    continue
            kind, index, value = item
            if kind == "delta":
                yield self._chunk(index, value)
            elif kind == "progress":
                yield self._chunk(
                    index, {"redraft": {"role": value.role, "stage": value.stage, "text": value.text}}
                )
            elif kind == "failed":
                await self.aclose()
                yield value
                return
            else:
                self.results[index] = value
                if not value.streamed:
                    yield self._chunk(index, _answer_delta(value.message))
                yield self._chunk(index, {}, finish_reason=value.finish_reason)
        ordered = [self.results[i] for i in range(n)]
        last: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [],
            "redraft": metadata(self.job, ordered),
        }
        if self.job.request.stream_options is not None and self.job.request.stream_options.include_usage:
            last["usage"] = usage_of(ordered)
        yield last

    def _chunk(
        self, index: int, delta: dict[str, Any], *, finish_reason: str | None = None
    ) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": [{"index": index, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        }

    async def aclose(self) -> None:
        """Cancel every run still going (a failure, or a client that hung up)."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def _answer_delta(message: dict[str, Any]) -> dict[str, Any]:
    """The chosen answer as one delta (tool calls carry their index, as streamed ones do)."""
    delta: dict[str, Any] = {"content": message.get("content")}
    if message.get("tool_calls"):
        delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
    if message.get("reasoning_content"):
        delta["reasoning_content"] = message["reasoning_content"]
    return delta

"""A local fake OpenAI-compatible server, so client and CLI paths run over real HTTP offline.

Replies are scripted: each request pops the next `FakeReply` (or the last one
repeats). Every request body is recorded for assertions. A reply can also be a fault, so
the retry, timeout and error paths run against real HTTP: an HTTP error with headers
(`Retry-After`), a dropped connection, a reply slower than the client's timeout, or one of
the malformed 200 bodies in `MALFORMED` (see `FakeReply.malformed`). A request with
`logprobs: true` gets OpenAI's `logprobs.content` (scripted ones, or each word certain), unless
the reply plays a server that drops them (`FakeReply.drop_logprobs`).

What the server received is counted even when bodies are not recorded (`record=False`, the
benchmarks' setting), and `GET /v1/fake/stats` answers the counts as JSON: chat requests, how
many asked each `n`, the choices sent back and the tokens their `usage` reported. A benchmark in
another process reads it before and after a load run to say how many upstream calls a proxy made
per client request, and whether its samples went as one request with `n` or one request each.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

#: Malformed 200 answers a real upstream (or a proxy in front of it) has been seen to send:
#: raw bodies, or completions whose JSON parses but says nothing.
MALFORMED: dict[str, tuple[bytes, str]] = {
    "truncated_json": (b'{"id": "chatcmpl-fake", "object": "chat.completion", "choices": [{"ind',
                       "application/json"),
    "empty_body": (b"", "application/json"),
    "html_page": (b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>", "text/html"),
    "non_utf8": (b'{"choices": [{"index": 0, "message": {"role": "assistant", "content": "\xff\xfe"}}]}',
                 "application/json"),
    "no_choices": (b"", ""),  # built by the server: a completion with `choices: []`
    "null_content": (b"", ""),  # built by the server: a choice whose content is null
}


@dataclass
class FakeReply:
    """One scripted response: a chat completion text, an HTTP error status (with `headers`,
    e.g. Retry-After), a dropped connection (`drop`), or a malformed 200 body (`malformed`)."""

    text: str = "ok"
    status: int = 200
    delay_s: float = 0.0
    error_message: str = "scripted failure"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    malformed: str | None = None  # a key of MALFORMED
    #: An answer that calls tools (OpenAI `tool_calls` entries); its finish reason is `tool_calls`.
    tool_calls: list[dict[str, Any]] | None = None
    reasoning: str | None = None  # sent as `reasoning_content`
    finish_reason: str = "stop"
    #: When streaming: the pause before each chunk, so a test can see tokens arrive one by one.
    chunk_delay_s: float = 0.0
    #: What a request with `logprobs: true` gets: OpenAI `logprobs.content` entries (their tokens
    #: should join to `text`); None: each word of `text` as a token at logprob 0 (certain).
    logprobs: list[dict[str, Any]] | None = None
    #: Play a server that ignores `logprobs: true` and answers `logprobs: null`.
    drop_logprobs: bool = False

    def __post_init__(self) -> None:
        if self.malformed is not None and self.malformed not in MALFORMED:
            raise ValueError(f"unknown malformed body {self.malformed!r}; one of {sorted(MALFORMED)}")

    @property
    def is_fault(self) -> bool:
        """Whether this reply fails the request (the client must retry or report it)."""
        return self.status != 200 or self.drop or self.malformed is not None


@dataclass
class FakeOpenAIServer:
    replies: list[FakeReply] = field(default_factory=lambda: [FakeReply()])
    respond: Callable[[dict[str, Any]], FakeReply] | None = None
    models: list[str] = field(default_factory=lambda: ["fake-model"])
    requests: list[dict[str, Any]] = field(default_factory=list)
    #: Faults `/v1/models` answers with, one per request, before it lists `models`.
    models_faults: list[FakeReply] = field(default_factory=list)
    models_requests: int = 0
    #: The Authorization header of every request (chat and model list), to check where keys went.
    authorizations: list[str | None] = field(default_factory=list)
    honor_n: bool = True
    record: bool = True  # keep request bodies (off for long benchmark runs)
    in_flight: int = 0
    max_in_flight: int = 0
    base_url: str = ""
    #: Chat requests received (faults included), and how many asked each `n` (absent: 1).
    chat_requests: int = 0
    requests_by_n: Counter[int] = field(default_factory=Counter)
    #: Over the answered requests: choices sent back, and the tokens their `usage` said.
    choices_sent: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def stats(self) -> dict[str, Any]:
        """The counts `GET /v1/fake/stats` answers (`requests_by_n` keyed by `n` as a string, JSON's keys)."""
        return {"chat_requests": self.chat_requests,
                "requests_by_n": {str(n): count for n, count in sorted(self.requests_by_n.items())},
                "choices_sent": self.choices_sent, "prompt_tokens": self.prompt_tokens,
                "completion_tokens": self.completion_tokens, "models_requests": self.models_requests}

    def _next(self, body: dict[str, Any]) -> FakeReply:
        if self.respond is not None:
            return self.respond(body)
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]

    async def chat(self, request: web.Request) -> web.StreamResponse:
        self.authorizations.append(request.headers.get("Authorization"))
        body = await request.json()
        if self.record:
            self.requests.append(body)
        self.chat_requests += 1
        self.requests_by_n[int(body.get("n") or 1)] += 1
        n = int(body.get("n") or 1) if self.honor_n else 1
        replies = [self._next(body) for _ in range(n)]
        reply = replies[0]
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if reply.delay_s:
                await asyncio.sleep(reply.delay_s)
        finally:
            self.in_flight -= 1
        if reply.is_fault:
            return await _fault(request, reply, body.get("model") or self.models[0])
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body["messages"])
        completion_tokens = sum(len(r.text.split()) for r in replies)
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens}
        self.choices_sent += len(replies)
        self.prompt_tokens += prompt_tokens
        self.completion_tokens += completion_tokens
        model = body.get("model") or self.models[0]
        top = int(body.get("top_logprobs") or 0) if body.get("logprobs") else None
        if body.get("stream"):
            return await _stream(request, reply, model, usage,
                                 bool((body.get("stream_options") or {}).get("include_usage")), top)
        return web.json_response({
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": i, "message": _message(r), "finish_reason": _finish(r),
                         "logprobs": _logprobs(r, top)}
                        for i, r in enumerate(replies)],
            "usage": usage,
        })

    async def list_models(self, request: web.Request) -> web.StreamResponse:
        self.models_requests += 1
        self.authorizations.append(request.headers.get("Authorization"))
        if self.models_faults:
            fault = self.models_faults.pop(0)
            if fault.delay_s:
                await asyncio.sleep(fault.delay_s)
            return await _fault(request, fault, self.models[0])
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in self.models]
        return web.json_response({"object": "list", "data": data})

    async def stats_route(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.stats())


def _message(reply: FakeReply) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": reply.text if not reply.tool_calls else None}
    if reply.tool_calls:
        message["tool_calls"] = reply.tool_calls
    if reply.reasoning:
        message["reasoning_content"] = reply.reasoning
    return message


def _finish(reply: FakeReply) -> str:
    return "tool_calls" if reply.tool_calls else reply.finish_reason


def _pieces(text: str) -> list[str]:
    """The text as streamed: word by word, each but the last with its following space."""
    words = text.split(" ")
    return [word + (" " if i < len(words) - 1 else "") for i, word in enumerate(words)]


def _token_logprobs(reply: FakeReply, top: int) -> list[dict[str, Any]]:
    """The reply's `logprobs.content`: the scripted entries, or each streamed piece certain (logprob 0)."""
    if reply.logprobs is not None:
        return [{**entry, "top_logprobs": list(entry.get("top_logprobs") or [])[:top]}
                for entry in reply.logprobs]
    return [{"token": piece, "logprob": 0.0, "bytes": list(piece.encode()),
             "top_logprobs": [{"token": piece, "logprob": 0.0, "bytes": list(piece.encode())}][:top]}
            for piece in _pieces(reply.text)]


def _logprobs(reply: FakeReply, top: int | None) -> dict[str, Any] | None:
    """A choice's `logprobs`: null unless asked (`top` is None), or when the reply drops them."""
    if top is None or reply.drop_logprobs:
        return None
    return {"content": _token_logprobs(reply, top), "refusal": None}


async def _stream(request: web.Request, reply: FakeReply, model: str, usage: dict[str, int],
                  include_usage: bool, top: int | None = None) -> web.StreamResponse:
    """The reply as OpenAI SSE chunks: reasoning, then the text word by word (or the tool calls);
    asked for logprobs (`top` set), token by token, each chunk with its token's logprobs."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)

    async def send(delta: dict[str, Any], finish: str | None = None,
                   logprobs: dict[str, Any] | None = None) -> None:
        if reply.chunk_delay_s:
            await asyncio.sleep(reply.chunk_delay_s)
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": logprobs}
        chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                 "model": model, "choices": [choice]}
        await response.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")

    await send({"role": "assistant", "content": ""})
    if reply.reasoning:
        await send({"reasoning_content": reply.reasoning})
    if reply.tool_calls:
        for i, call in enumerate(reply.tool_calls):
            await send({"tool_calls": [{"index": i, **call}]})
    elif top is not None and not reply.drop_logprobs:
        for entry in _token_logprobs(reply, top):
            await send({"content": entry["token"]}, logprobs={"content": [entry], "refusal": None})
    else:
        for piece in _pieces(reply.text):
            await send({"content": piece})
    await send({}, _finish(reply))
    if include_usage:
        chunk = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()),
                 "model": model, "choices": [], "usage": usage}
        await response.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
    await response.write(b"data: [DONE]\n\n")
    await response.write_eof()
    return response


async def _fault(request: web.Request, reply: FakeReply, model: str) -> web.StreamResponse:
    """The failing answer a fault reply stands for."""
    if reply.drop:  # close the socket without a byte of response: the client sees a reset
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=200)
    if reply.malformed in ("no_choices", "null_content"):
        choices = [] if reply.malformed == "no_choices" else [
            {"index": 0, "message": {"role": "assistant", "content": None}, "finish_reason": "stop"}]
        return web.json_response({"id": "chatcmpl-fake", "object": "chat.completion",
                                  "created": int(time.time()), "model": model, "choices": choices})
    if reply.malformed is not None:
        raw, content_type = MALFORMED[reply.malformed]
        return web.Response(body=raw, status=200, headers={"Content-Type": content_type})
    return web.json_response(
        {"error": {"message": reply.error_message, "type": "fake", "code": reply.status}},
        status=reply.status, headers=reply.headers,
    )


@contextmanager
def serve(server: FakeOpenAIServer) -> Iterator[FakeOpenAIServer]:
    """Run `server` on a free loopback port in a background thread for the block's duration."""

    def build() -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", server.chat)
        app.router.add_get("/v1/models", server.list_models)
        app.router.add_get("/v1/fake/stats", server.stats_route)
        return app

    with serve_app(build) as base_url:
        server.base_url = base_url + "/v1"
        yield server


@contextmanager
def serve_app(build: Callable[[], web.Application], *, handler_cancellation: bool = False) -> Iterator[str]:
    """Run the aiohttp app `build()` makes on a free loopback port, in a background thread with
    its own event loop, for the block's duration; yields its base URL (`http://127.0.0.1:PORT`)."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, Any] = {}

    async def start() -> None:
        runner = web.AppRunner(build(), handler_cancellation=handler_cancellation)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        holder["url"] = f"http://127.0.0.1:{port}"
        holder["runner"] = runner

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(start())
        except BaseException as exc:  # reported to the caller, not lost in the thread
            holder["error"] = exc
        started.set()
        if "error" not in holder:
            loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(10)
    if "error" in holder:
        raise holder["error"]
    try:
        yield holder["url"]
    finally:
        asyncio.run_coroutine_threadsafe(holder["runner"].cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def main() -> None:
    """Serve a fake endpoint in its own process (for benchmarks): prints its base URL, then serves."""
    import argparse

    parser = argparse.ArgumentParser(description="a fake OpenAI-compatible server")
    parser.add_argument("--text", default="The answer is 18.\nVERDICT: correct")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--ignore-n", action="store_true", help="answer one choice whatever `n` asks")
    args = parser.parse_args()
    server = FakeOpenAIServer(replies=[FakeReply(args.text, delay_s=args.latency)], record=False,
                              honor_n=not args.ignore_n)
    with serve(server):
        print(server.base_url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()

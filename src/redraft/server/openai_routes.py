"""`POST /v1/chat/completions` and `GET /v1/models`, as an OpenAI client expects them."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from redraft.context import gather
from redraft.server import http as server
from redraft.server.chat import ChatJob, prepare
from redraft.server.errors import ApiError
from redraft.server.passthrough import record
from redraft.server.schema import ChatRequest
from redraft.server.selection import select, split_model
from redraft.server.service import completion_id, header_value, headers, metadata, now, usage_of
from redraft.server.streaming import ChatStream, Comment, StreamItem
from redraft.strategies.registry import STRATEGIES

log = logging.getLogger("redraft.server")
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def parse(request: web.Request, body: Any) -> tuple[ChatRequest, Any]:
    """Validate a chat request; returns it and the selection it makes."""
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object", code="invalid_body")
    config = request.app[server.CONFIG]
    try:
        chat = ChatRequest.model_validate(body)
    except ValidationError as exc:
        raise server.invalid(exc) from exc
    server.check_limits(config, chat.n, len(chat.messages))
    return chat, select(chat.model, chat.redraft, config.strategy)


def plain(request: web.Request, body: Any) -> bool:
    """Whether `body` is a passthrough request, checked without the full validation: the upstream
    judges the fields of a request it gets byte for byte; only the server's own limits apply here."""
    config = request.app[server.CONFIG]
    if server.FORWARDER not in request.app or config.strategy is not None or not isinstance(body, dict):
        return False
    model, messages, n = body.get("model"), body.get("messages"), body.get("n", 1)
    if "redraft" in body or not isinstance(model, str) or not model or not isinstance(messages, list):
        return False
    if (
        not isinstance(n, int)
        or isinstance(n, bool)
        or n > config.max_n
        or len(messages) > config.max_messages
    ):
        return False  # the full validation says which limit
    return split_model(model)[0] is None


async def chat_completions(request: web.Request) -> web.StreamResponse:
    body = await server.read_json(request)
    if plain(request, body):
        return await passthrough(request, body, body.get("stream") is True)
    chat, selection = parse(request, body)
    service = request.app[server.SERVICE]
    if selection.strategy is None and server.FORWARDER in request.app:
        return await passthrough(request, body, chat.stream)
    config = request.app[server.CONFIG]
    job = prepare(
        chat, selection, server.budget_of(config), allow_code_execution=config.allow_code_execution
    )
    request[server.MODE] = job.strategy.name  # a registered name: a bounded metrics label
    if chat.stream:
        return await stream(request, job)
    results = await gather(*(service.run_choice(job, i) for i in range(chat.n)))
    response = {
        "id": completion_id(),
        "object": "chat.completion",
        "created": now(),
        "model": chat.model,
        "choices": [
            {"index": i, "message": r.message, "finish_reason": r.finish_reason, "logprobs": None}
            for i, r in enumerate(results)
        ],
        "usage": usage_of(results),
        "redraft": metadata(job, results),
    }
    return web.json_response(response, headers=headers(job, results))


async def passthrough(request: web.Request, body: dict[str, Any], stream: bool) -> web.StreamResponse:
    """A plain model name with no default strategy: byte for byte to the upstream and back. Every
    exchange is a run, the failed and the abandoned ones too."""
    started = time.perf_counter()
    raw = await request.read()
    service = request.app[server.SERVICE]
    request[server.MODE] = "passthrough"
    try:
        response, data = await request.app[server.FORWARDER].forward(request, raw, stream=stream)
    except ApiError as exc:
        service.metrics.calls.labels("generator", "error").inc()
        _record(service, body, b"", stream=stream, status=exc.status, started=started, error=exc.message)
        raise
    except asyncio.CancelledError:  # the client hung up
        _record(service, body, b"", stream=stream, status=0, started=started, interrupted=True)
        raise
    service.metrics.calls.labels("generator", "ok" if response.status == 200 else "error").inc()
    run_id = _record(service, body, data, stream=stream, status=response.status, started=started)
    if not response.prepared and run_id is not None:
        response.headers["x-redraft-run-id"] = run_id
        response.headers["x-redraft-strategy"] = "passthrough"
    return response


def _record(service: Any, body: dict[str, Any], data: bytes, **facts: Any) -> str | None:
    """`record`, but a store failure never costs the client the upstream's answer: it is logged
    and counted (`redraft_errors_total{type="store_error"}`), not hidden."""
    try:
        return record(service.store, body, data, **facts)
    except Exception:
        log.exception("could not record a passthrough request")
        service.metrics.error("store_error")
        return None


async def stream(request: web.Request, job: ChatJob) -> web.StreamResponse:
    config = request.app[server.CONFIG]
    chat_stream = ChatStream(
        request.app[server.SERVICE], job, model=job.request.model, keepalive_s=config.keepalive_s
    )
    try:
        response = await chat_stream.open(
            request, config.stream_hold_s, {**SSE_HEADERS, "x-redraft-strategy": header_value(job.spec)}
        )
        async for item in chat_stream.items():
            await response.write(encode(item))
            if isinstance(item, ApiError):
                break
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response
    finally:
        await chat_stream.aclose()


def encode(item: StreamItem) -> bytes:
    if isinstance(item, Comment):
        return f": {item.text}\n\n".encode()
    if isinstance(item, ApiError):
        return b"data: " + json.dumps(item.body()).encode() + b"\n\n"
    return b"data: " + json.dumps(item, separators=(",", ":")).encode() + b"\n\n"


async def list_models(request: web.Request) -> web.StreamResponse:
    """The upstream's models, then each prefixed with every strategy name (`self_refine/MODEL`)."""
    if server.FORWARDER in request.app:
        upstream = await request.app[server.FORWARDER].models()
    else:
        upstream = [{"id": "local", "object": "model", "created": 0, "owned_by": "redraft"}]
    listed = list(upstream)
    for model in upstream:
        for name in STRATEGIES.names():
            listed.append(
                {
                    "id": f"{name}/{model['id']}",
                    "object": "model",
                    "created": model.get("created", 0),
                    "owned_by": "redraft",
                }
            )
    return web.json_response({"object": "list", "data": listed})

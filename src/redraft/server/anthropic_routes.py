"""`POST /v1/messages` for clients that speak Anthropic's API, over the same strategy runs.

The request is translated to a chat request (`server.anthropic`), served as one, and its
answer (or its stream of chunks) translated back. The strategy comes from a `SPEC/MODEL` model
name or `metadata.redraft`; with neither (and no server default) the request runs `direct`, one
call through the model layer, since an OpenAI-compatible upstream cannot take Anthropic's bytes.
"""

from __future__ import annotations

import uuid
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from redraft.server import http as server
from redraft.server.anthropic import (
    AnthropicRequestError,
    StreamTranslator,
    error_body,
    sse,
    to_chat_request,
    to_message,
)
from redraft.server.chat import prepare
from redraft.server.errors import ApiError
from redraft.server.schema import ChatRequest, MessagesRequest
from redraft.server.selection import select
from redraft.server.service import completion_id, header_value, headers, metadata, now, usage_of
from redraft.server.streaming import ChatStream, Comment

#: Anthropic's status for an overloaded upstream; a 503 from upstream is passed on as this.
OVERLOADED = 529


def status_of(exc: ApiError) -> int:
    return OVERLOADED if exc.status == 503 else exc.status


def error_json(exc: ApiError) -> dict[str, Any]:
    return error_body(status_of(exc), exc.message)


async def messages(request: web.Request) -> web.StreamResponse:
    body = await server.read_json(request)
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    try:
        MessagesRequest.model_validate(body)
        chat_body = to_chat_request(body)
        chat = ChatRequest.model_validate(chat_body)
    except ValidationError as exc:
        raise server.invalid(exc) from exc
    except AnthropicRequestError as exc:
        raise ApiError(400, str(exc), param=exc.param) from exc
    config = request.app[server.CONFIG]
    server.check_limits(config, 1, len(chat.messages))
    selection = select(chat.model, chat.redraft, config.strategy)
    job = prepare(
        chat, selection, server.budget_of(config), allow_code_execution=config.allow_code_execution
    )
    request[server.MODE] = job.strategy.name
    service = request.app[server.SERVICE]
    if not chat.stream:
        result = await service.run_choice(job, 0)
        completion = {
            "id": completion_id(),
            "object": "chat.completion",
            "created": now(),
            "model": chat.model,
            "choices": [{"index": 0, "message": result.message, "finish_reason": result.finish_reason}],
            "usage": usage_of([result]),
        }
        message = to_message(completion, model=body["model"])
        message["redraft"] = metadata(job, [result])  # clients ignore it; it says what ran (and tools)
        return web.json_response(message, headers=headers(job, [result]))
    chat_stream = ChatStream(service, job, model=chat.model, keepalive_s=config.keepalive_s)
    try:
        response = await chat_stream.open(
            request, config.stream_hold_s,
            {"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
             "x-redraft-strategy": header_value(job.spec)},
        )
        translator = StreamTranslator(model=body["model"], message_id="msg_" + uuid.uuid4().hex)
        async for item in chat_stream.items():
            if isinstance(item, Comment):
                await response.write(sse(*translator.ping()))
            elif isinstance(item, ApiError):
                await response.write(sse(*translator.error_event(item.status, item.message)))
                break
            else:
                for event in translator.feed(item):
                    await response.write(sse(*event))
        else:
            for event in translator.finish():
                await response.write(sse(*event))
        await response.write_eof()
        return response
    finally:
        await chat_stream.aclose()

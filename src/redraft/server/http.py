"""What every route shares: the application's keys and reading a request body.

Kept apart from `app` (which wires routes to handlers) so the route modules import this and
`app` imports them, one way.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from redraft.context import Budget
from redraft.server.config import ServerConfig
from redraft.server.errors import ApiError
from redraft.server.metrics import Metrics
from redraft.server.passthrough import Forwarder
from redraft.server.service import Service

SERVICE = web.AppKey("service", Service)
FORWARDER = web.AppKey("forwarder", Forwarder)
CONFIG = web.AppKey("config", ServerConfig)
METRICS = web.AppKey("metrics", Metrics)
#: What served a request (a strategy's registered name, `passthrough`): its metrics label.
MODE = web.RequestKey("mode", str)


def budget_of(config: ServerConfig) -> Budget:
    return Budget(max_calls=config.max_calls_per_request, max_tokens=config.max_tokens_per_request)


async def read_json(request: web.Request) -> Any:
    """The body as JSON; unreadable or too large is the client's error, with the status saying which."""
    config = request.app[CONFIG]
    try:
        async with asyncio.timeout(config.body_timeout_s):
            raw = await request.read()
    except TimeoutError as exc:
        raise ApiError(
            408, f"the body did not arrive within {config.body_timeout_s:g} s", code="body_timeout"
        ) from exc
    except web.HTTPRequestEntityTooLarge as exc:
        raise ApiError(
            413,
            f"the body is over the server's limit of {config.max_body_bytes} bytes",
            code="body_too_large",
        ) from exc
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"the body is not valid JSON: {exc}", code="invalid_json") from exc
    except RecursionError as exc:  # nesting deeper than the parser goes
        raise ApiError(400, "the body is nested too deeply", code="invalid_json") from exc


def check_limits(config: ServerConfig, n: int, messages: int) -> None:
    if n > config.max_n:
        raise ApiError(400, f"n={n} is over this server's limit of {config.max_n}", param="n")
    if messages > config.max_messages:
        raise ApiError(
            400,
            f"{messages} messages are over this server's limit of {config.max_messages}",
            param="messages",
        )


def invalid(exc: ValidationError) -> ApiError:
    """A pydantic validation failure as one 400 naming the first bad field."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    return ApiError(400, f"{where}: {first['msg']}" if where else first["msg"], param=where or None)

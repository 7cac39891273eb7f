"""The HTTP side of `redraft serve`: routes, auth, limits, errors, on aiohttp's web server.

aiohttp because the upstream side already runs on it (the openai SDK's aiohttp transport and
the passthrough forwarder), so one event loop and one HTTP stack carry both ends; see
docs/server.md for the measurement behind the choice. Handlers are cancelled when a client
hangs up, which cancels the strategy's upstream calls with them.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from redraft.models.managed import ManagedModel
from redraft.runs.store import RunStore
from redraft.server import anthropic_routes, openai_routes
from redraft.server.config import ServerConfig
from redraft.server.errors import ApiError
from redraft.server.http import CONFIG, FORWARDER, METRICS, MODE, SERVICE
from redraft.server.metrics import CONTENT_TYPE, Metrics
from redraft.server.openapi import openapi_document
from redraft.server.passthrough import Forwarder
from redraft.server.service import Service

log = logging.getLogger("redraft.server")
OPEN_ROUTES = {"/health"}
COMMITS = web.AppKey("commits", asyncio.Task)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(
    config: ServerConfig, *, store: RunStore | None = None, models: dict[str, ManagedModel] | None = None
) -> web.Application:
    """The server's application. `models` fixes the model of each role (tests, embedding), in
    place of the upstream named by each request."""
    metrics = Metrics()
    app = web.Application(
        client_max_size=config.max_body_bytes, middlewares=[errors_middleware, auth_middleware]
    )
    app[CONFIG] = config
    app[METRICS] = metrics
    runs = store or RunStore(config.store_path, store_content=config.store_content)
    runs.autocommit = config.commit_interval_s == 0
    app[SERVICE] = Service(config, runs, metrics, models=models)
    if config.upstream is not None and not models:
        app[FORWARDER] = Forwarder(
            config.upstream,
            app[SERVICE].upstream_key(),
            config.upstream_timeout_s,
            concurrency=config.upstream_concurrency,
        )
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", render_metrics)
    app.router.add_get("/openapi.json", openapi)
    app.router.add_get("/v1/models", openai_routes.list_models)
    app.router.add_post("/v1/chat/completions", openai_routes.chat_completions)
    app.router.add_post("/v1/messages", anthropic_routes.messages)
    app.on_startup.append(_start_commits)
    app.on_cleanup.append(_close)
    return app


async def _start_commits(app: web.Application) -> None:
    """Commit the run store's batch on a timer (see `ServerConfig.commit_interval_s`)."""
    store = app[SERVICE].store
    if store.autocommit:
        return

    async def commit_forever() -> None:
        while True:
            await asyncio.sleep(app[CONFIG].commit_interval_s)
            # In a worker thread: a commit that checkpoints a large store takes tens of ms, which
            # would stall every request on the loop. SQLite serialises the connection's use.
            await asyncio.to_thread(store.commit)

    app[COMMITS] = asyncio.create_task(commit_forever())


async def _close(app: web.Application) -> None:
    if COMMITS in app:
        app[COMMITS].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await app[COMMITS]
    app[SERVICE].store.commit()
    await app[SERVICE].aclose()
    if FORWARDER in app:
        await app[FORWARDER].aclose()


async def health(request: web.Request) -> web.StreamResponse:
    return web.json_response({"status": "ok"})


async def render_metrics(request: web.Request) -> web.StreamResponse:
    return web.Response(body=request.app[METRICS].render(), headers={"Content-Type": CONTENT_TYPE})


async def openapi(request: web.Request) -> web.StreamResponse:
    return web.json_response(openapi_document())


def is_anthropic(request: web.Request) -> bool:
    return request.path.startswith("/v1/messages")


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure as the client's API shapes it, with its real status; never a 200."""
    started = time.perf_counter()
    try:
        response = await handler(request)
    except ApiError as exc:
        response = error_response(request, exc)
    except web.HTTPRequestEntityTooLarge:
        response = error_response(
            request, ApiError(413, "the body is over the server's limit", code="body_too_large")
        )
    except web.HTTPException as exc:  # routing: 404, 405
        if exc.status < 400:
            raise
        response = error_response(request, ApiError(exc.status, exc.reason or "error", code=str(exc.status)))
    except Exception as exc:
        log.exception("unhandled error serving %s", request.path)
        response = error_response(request, ApiError(500, f"internal error: {type(exc).__name__}"))
    # Labels from bounded sets only: the route as registered (not the path a client typed) and the
    # strategy's registered name (not the client's spec), so no client can grow the series.
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    mode = request.get(MODE, "other")
    request.app[METRICS].request(route, mode, response.status, time.perf_counter() - started)
    return response


def error_response(request: web.Request, exc: ApiError) -> web.Response:
    request.app[METRICS].error(exc.type)
    if is_anthropic(request):  # Anthropic's shape, and its 529 for an overloaded upstream
        status = anthropic_routes.status_of(exc)
        return web.json_response(anthropic_routes.error_json(exc), status=status, headers=exc.headers)
    return web.json_response(exc.body(), status=exc.status, headers=exc.headers)


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """With `--api-key`, every route but /health needs one of the keys (Bearer or `x-api-key`)."""
    keys = request.app[CONFIG].api_keys
    if keys and request.path not in OPEN_ROUTES:
        given = bearer(request.headers.get("Authorization")) or request.headers.get("x-api-key") or ""
        # Compared against every key in constant time, so timing says nothing about which is near.
        offered = given.encode("utf-8", "surrogateescape")  # a header's stray bytes are just wrong
        matched = [hmac.compare_digest(offered, key.encode()) for key in keys]
        if not any(matched):
            raise ApiError(
                401,
                "missing or wrong API key: send `Authorization: Bearer KEY`"
                if not given
                else "wrong API key",
                code="invalid_api_key",
            )
    return await handler(request)


def bearer(header: str | None) -> str | None:
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None

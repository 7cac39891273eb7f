"""`redraft serve`: the OpenAI- and Anthropic-compatible proxy, from the command line."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated

import typer

from redraft.cli import options as o
from redraft.cli.app import app, user_errors
from redraft.errors import UsageError
from redraft.extras import needs_extra
from redraft.models.resolve import ModelConfig, bound_key
from redraft.roles import parse_binding
from redraft.strategies.registry import build_strategy


@app.command()
def serve(
    upstream: Annotated[str | None, typer.Option(
        help="OpenAI-compatible endpoint to forward to (default: the embedded model).",
        envvar="REDRAFT_UPSTREAM")] = None,
    upstream_api_key: Annotated[str | None, typer.Option(
        help="Key sent upstream (default $OPENAI_API_KEY); never taken from a client.")] = None,
    api_key: Annotated[list[str], typer.Option(
        "--api-key", help="A key clients must send (repeatable); none: no auth.")] = [],  # noqa: B006
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    strategy: Annotated[str | None, typer.Option(
        "--strategy", "-s", help="Strategy of requests that name none (default: pass them through).")] = None,
    roles: o.Roles = [],  # noqa: B006
    role_api_keys: o.RoleApiKeys = [],  # noqa: B006
    max_calls_per_request: Annotated[int, typer.Option(help="Calls one strategy run may make.")] = 64,
    max_tokens_per_request: Annotated[int | None, typer.Option(
        help="Tokens one strategy run may spend.")] = None,
    max_n: Annotated[int, typer.Option(help="The largest `n` a request may ask for.")] = 8,
    max_body_bytes: Annotated[int, typer.Option(help="The largest request body.")] = 4 * 1024 * 1024,
    stream_hold: Annotated[float, typer.Option(
        help="Seconds a stream waits on hidden stages before committing to 200.")] = 10.0,
    timeout: o.Timeout = 120.0,
    no_store_content: Annotated[bool, typer.Option(
        "--no-store-content", help="Record each request's facts but none of its text.")] = False,
    allow_code_execution: Annotated[bool, typer.Option(
        "--allow-code-execution", help="Serve specs that run model-written code in the sandbox "
        "(progco[execution=python], @tests, reflexion); refused by default.")] = False,
    db: o.Db = None,
) -> None:
    """Serve strategies to any OpenAI or Anthropic client: point its base URL here."""
    with user_errors():
        with needs_extra("redraft serve", "server", "prometheus_client"):
            from aiohttp import web

            from redraft.server.app import create_app
            from redraft.server.config import ServerConfig
        o.check_counts(positive={"max_calls_per_request": max_calls_per_request, "max_n": max_n,
                                 "max_tokens_per_request": max_tokens_per_request, "timeout": timeout})
        if strategy is not None:
            default = build_strategy(strategy)
            default.require_calibrated()  # a bad default is refused now, not at a request
            if default.executes_code and not allow_code_execution:
                raise UsageError(f"--strategy {strategy} runs model-written code in the sandbox; "
                                 "add --allow-code-execution to serve it")
        generator = ModelConfig(base_url=upstream, api_key=upstream_api_key)
        keys = o.parse_role_keys(role_api_keys)
        bound: dict[str, ModelConfig] = {}
        for binding in roles:
            role, model, url = parse_binding(binding)
            bound[role] = ModelConfig(model=model, base_url=url or upstream,
                                      **bound_key(url or upstream, generator, keys.get(role)))
        config = o.validated(
            ServerConfig, upstream=upstream, upstream_api_key=upstream_api_key, api_keys=api_key, host=host,
            port=port, strategy=strategy, roles=bound, max_calls_per_request=max_calls_per_request,
            max_tokens_per_request=max_tokens_per_request, max_n=max_n, max_body_bytes=max_body_bytes,
            stream_hold_s=stream_hold, upstream_timeout_s=timeout, store_content=not no_store_content,
            allow_code_execution=allow_code_execution, store_path=Path(db) if db else None)
        if not api_key and not is_loopback(host):
            typer.echo(f"warning: serving on {host} with no --api-key: anyone who reaches it spends your "
                       "upstream's tokens", err=True)
        if any(not k.strip() for k in api_key):
            raise UsageError("--api-key must not be empty")
        where = upstream or "the embedded model"
        typer.echo(f"redraft serve: http://{host}:{port}/v1 -> {where}"
                   f" (default strategy: {strategy or 'none, pass through'})", err=True)
        web.run_app(create_app(config), host=host, port=port, print=None, handler_cancellation=True,
                    access_log=None)


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

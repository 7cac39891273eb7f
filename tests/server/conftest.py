"""A fake upstream and a redraft server in front of it, for driving with the official clients."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from redraft.runs.store import RunStore
from redraft.server.app import create_app
from redraft.server.config import ServerConfig
from redraft.testing import FakeOpenAIServer, FakeReply, serve, serve_app


@dataclass
class Served:
    upstream: FakeOpenAIServer
    url: str  # the redraft server's base URL, `http://127.0.0.1:PORT`
    db: Path

    @property
    def v1(self) -> str:
        return self.url + "/v1"

    def store(self) -> RunStore:
        return RunStore(self.db)


@contextmanager
def proxy(
    replies: list[FakeReply] | None = None,
    *,
    respond: Callable[[dict[str, Any]], FakeReply] | None = None,
    db: Path,
    **config: Any,
) -> Iterator[Served]:
    upstream = FakeOpenAIServer(replies=replies or [FakeReply("The answer is 18.")], respond=respond)
    with serve(upstream):
        settings = ServerConfig(
            **{
                "upstream": upstream.base_url,
                "upstream_api_key": "sk-upstream",
                "store_path": db,
                "upstream_retries": 0,
                "commit_interval_s": 0,
                **config,
            }
        )
        with serve_app(lambda: create_app(settings), handler_cancellation=True) as url:
            yield Served(upstream=upstream, url=url, db=db)


@pytest.fixture
def served(isolated_env: Path) -> Iterator[Callable[..., Any]]:
    """`served(replies, **ServerConfig fields)` as a context manager."""

    def make(replies: list[FakeReply] | None = None, **kwargs: Any) -> Any:
        return proxy(replies, db=isolated_env, **kwargs)

    yield make


@dataclass
class Raw:
    status: int
    headers: dict[str, str]
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)


def raw(
    method: str,
    url: str,
    body: Any = None,
    *,
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
    timeout: float = 30.0,
) -> Raw:
    """One plain HTTP exchange (no SDK in the way): what an error case really sends back."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    payload = data if data is not None else (None if body is None else json.dumps(body).encode())
    sent = {"Content-Type": "application/json", **(headers or {})}
    try:
        connection.request(
            method, parts.path + (f"?{parts.query}" if parts.query else ""), body=payload, headers=sent
        )
        response = connection.getresponse()
        return Raw(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()

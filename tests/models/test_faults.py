"""Faults an upstream really sends, over real HTTP: Retry-After, dropped connections, slow
replies, malformed 200 bodies, a flaky model list, and error text that echoes secrets."""

from __future__ import annotations

import asyncio
import time

import pytest

from redraft.models.base import ModelError
from redraft.models.managed import ManagedModel
from redraft.models.openai_compat import OpenAICompatibleModel, retry_after
from redraft.testing import MALFORMED, FakeOpenAIServer, FakeReply, serve

MESSAGES = [{"role": "user", "content": "hi there"}]


def client(server: FakeOpenAIServer, model: str | None = "fake-model", *, timeout_s: float = 5,
           api_key: str = "k", base_url: str | None = None, **kwargs) -> ManagedModel:
    inner = OpenAICompatibleModel(model, base_url=base_url or server.base_url, api_key=api_key,
                                  timeout_s=timeout_s)
    return ManagedModel(inner, backoff_s=0.01, **kwargs)


async def call(model: ManagedModel):
    try:
        return await model.complete(MESSAGES)
    finally:
        await model.aclose()


@pytest.mark.parametrize(("headers", "wait_s"), [({"Retry-After": "0.4"}, 0.4),
                                                 ({"retry-after-ms": "300"}, 0.3)])
def test_retry_after_is_honoured(headers: dict[str, str], wait_s: float) -> None:
    replies = [FakeReply(status=429, headers=headers), FakeReply("late")]
    with serve(FakeOpenAIServer(replies=replies)) as server:
        started = time.perf_counter()
        result = asyncio.run(call(client(server)))
        elapsed = time.perf_counter() - started
    assert result.text == "late" and result.attempts == 2
    assert elapsed >= wait_s  # the 0.01 s backoff alone would have retried at once


def test_retry_after_is_capped() -> None:
    replies = [FakeReply(status=503, headers={"Retry-After": "3600"}), FakeReply("ok")]
    with serve(FakeOpenAIServer(replies=replies)) as server:
        started = time.perf_counter()
        result = asyncio.run(call(client(server, max_retry_after_s=0.05)))
    assert result.text == "ok" and time.perf_counter() - started < 3


def test_retry_after_reads_seconds_milliseconds_and_dates() -> None:
    assert retry_after({"retry-after": "2"}) == 2.0
    assert retry_after({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({}) is None
    assert retry_after({"retry-after": "-5"}) == 0.0
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    wait = retry_after({"retry-after": future})
    assert wait is not None and 25 <= wait <= 31


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_a_malformed_200_is_retried_once(kind: str) -> None:
    with serve(FakeOpenAIServer(replies=[FakeReply(malformed=kind), FakeReply("recovered")])) as server:
        result = asyncio.run(call(client(server)))
    assert result.text == "recovered" and result.attempts == 2


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_a_malformed_200_twice_is_reported_naming_the_endpoint_never_as_an_empty_answer(kind: str) -> None:
    with serve(FakeOpenAIServer(replies=[FakeReply(malformed=kind)])) as server:
        with pytest.raises(ModelError, match="gave up after 2 attempts") as caught:
            asyncio.run(call(client(server, max_retries=4)))
        assert server.base_url in str(caught.value) and "malformed" in str(caught.value)
        assert len(server.requests) == 2  # once more, not max_retries more


def test_a_dropped_connection_is_retried() -> None:
    with serve(FakeOpenAIServer(replies=[FakeReply(drop=True), FakeReply("second try")])) as server:
        result = asyncio.run(call(client(server)))
    assert result.text == "second try" and result.attempts == 2


def test_a_reply_slower_than_the_timeout_is_retried() -> None:
    replies = [FakeReply("too late", delay_s=2.0), FakeReply("in time")]
    with serve(FakeOpenAIServer(replies=replies)) as server:
        result = asyncio.run(call(client(server, timeout_s=0.5)))
    assert result.text == "in time" and result.attempts == 2


def test_model_discovery_is_retried_like_any_call() -> None:
    faults = [FakeReply(status=503), FakeReply(drop=True), FakeReply(malformed="html_page")]
    with serve(FakeOpenAIServer(models=["served"], models_faults=faults)) as server:
        result = asyncio.run(call(client(server, model=None)))
    assert result.model == "served" and server.models_requests == 4


def test_discovery_that_keeps_failing_is_reported() -> None:
    with (serve(FakeOpenAIServer(models_faults=[FakeReply(status=500)] * 10)) as server,
          pytest.raises(ModelError, match=r"gave up after 3 attempts.*HTTP 500")):
        asyncio.run(call(client(server, model=None, max_retries=2)))


def test_upstream_error_text_never_repeats_the_key() -> None:
    key = "sk-live-0123456789abcdef"
    echo = FakeReply(status=401, error_message=f"Incorrect API key provided: {key}.")
    with (serve(FakeOpenAIServer(replies=[echo])) as server,
          pytest.raises(ModelError, match="HTTP 401") as caught):
        asyncio.run(call(client(server, api_key=key)))
    assert key not in str(caught.value) and "***" in str(caught.value)


def test_credentials_in_the_base_url_never_appear_in_errors() -> None:
    with serve(FakeOpenAIServer(replies=[FakeReply(status=400, error_message="bad request")])) as server:
        url = server.base_url.replace("http://", "http://alice:hunter2pw@")
        with pytest.raises(ModelError) as caught:
            asyncio.run(call(client(server, base_url=url)))
    assert "hunter2pw" not in str(caught.value) and "alice" not in str(caught.value)
    assert "127.0.0.1" in str(caught.value)

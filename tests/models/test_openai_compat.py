"""The endpoint client over real HTTP against a local fake server: retries, errors, limits."""

from __future__ import annotations

import asyncio

import pytest

from redraft.models.base import ModelError
from redraft.models.managed import ManagedModel
from redraft.models.openai_compat import OpenAICompatibleModel
from redraft.testing import FakeOpenAIServer, FakeReply, serve

MESSAGES = [{"role": "user", "content": "hi there"}]


def client(server: FakeOpenAIServer, model: str | None = "fake-model", **kwargs) -> ManagedModel:
    inner = OpenAICompatibleModel(model, base_url=server.base_url, api_key="k", timeout_s=5)
    return ManagedModel(inner, backoff_s=0.01, **kwargs)


async def call(model: ManagedModel, **sampling):
    try:
        return await model.complete(MESSAGES, **sampling)
    finally:
        await model.aclose()


def test_completion_carries_text_usage_latency_and_sampling() -> None:
    with serve(FakeOpenAIServer(replies=[FakeReply("hello back")])) as server:
        result = asyncio.run(call(client(server), temperature=0.3, max_tokens=7))
    assert result.text == "hello back"
    assert (result.prompt_tokens, result.completion_tokens) == (2, 2)
    assert result.finish_reason == "stop" and result.latency_s > 0
    assert server.requests[0]["temperature"] == 0.3 and server.requests[0]["max_tokens"] == 7


def test_the_body_on_the_wire_is_exactly_the_messages_and_sampling_with_the_key() -> None:
    """The request goes past the SDK's argument transform (as `extra_body`): nothing may be lost,
    added or reshaped on the way, plain or streamed, and the API key still goes as a bearer token."""
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi there"},
                {"role": "assistant", "content": "hello"}, {"role": "user", "content": "again"}]

    async def both() -> None:
        model = client(server)
        try:
            await model.complete(messages, temperature=0.5, max_tokens=9, stop=["\n"], seed=3)

            async def ignore(delta: dict) -> None:
                pass

            await model.complete(messages, max_tokens=4, on_delta=ignore)
        finally:
            await model.aclose()

    with serve(FakeOpenAIServer(replies=[FakeReply("ok")])) as server:
        asyncio.run(both())
    assert server.requests[0] == {"model": "fake-model", "messages": messages, "temperature": 0.5,
                                  "max_tokens": 9, "stop": ["\n"], "seed": 3}
    assert server.requests[1] == {"model": "fake-model", "messages": messages, "max_tokens": 4,
                                  "stream": True, "stream_options": {"include_usage": True}}
    assert server.authorizations == ["Bearer k", "Bearer k"]


@pytest.mark.parametrize("status", [429, 500, 503])
def test_retries_until_success(status: int) -> None:
    replies = [FakeReply(status=status), FakeReply(status=status), FakeReply("finally")]
    with serve(FakeOpenAIServer(replies=replies)) as server:
        model = client(server)
        result = asyncio.run(call(model))
    assert result.text == "finally"
    assert result.attempts == 3
    assert len(server.requests) == 3
    assert model.usage.calls == 1


def test_gives_a_clear_error_when_retries_run_out() -> None:
    with serve(FakeOpenAIServer(replies=[FakeReply(status=503, error_message="overloaded")])) as server:
        with pytest.raises(ModelError, match=r"gave up after 3 attempts.*503.*overloaded"):
            asyncio.run(call(client(server, max_retries=2)))
        assert len(server.requests) == 3


def test_client_errors_are_not_retried() -> None:
    with serve(FakeOpenAIServer(replies=[FakeReply(status=404, error_message="no such model")])) as server:
        with pytest.raises(ModelError, match="HTTP 404: no such model"):
            asyncio.run(call(client(server)))
        assert len(server.requests) == 1


def test_unreachable_endpoint_is_retried_then_reported() -> None:
    inner = OpenAICompatibleModel("m", base_url="http://127.0.0.1:9/v1", timeout_s=2)
    model = ManagedModel(inner, backoff_s=0.01, max_retries=1)
    with pytest.raises(ModelError, match="gave up after 2 attempts: .*Cannot connect to host 127.0.0.1:9"):
        asyncio.run(call(model))


def test_model_name_is_discovered_when_not_given() -> None:
    with serve(FakeOpenAIServer(models=["served-model"])) as server:
        model = client(server, model=None)
        result = asyncio.run(call(model))
    assert server.requests[0]["model"] == "served-model"
    assert result.model == "served-model"


def test_concurrency_limit_is_shared_per_endpoint() -> None:
    with serve(FakeOpenAIServer(replies=[FakeReply("x", delay_s=0.05)])) as server:
        first, second = client(server, max_concurrency=3), client(server, max_concurrency=3)

        async def many() -> None:
            await asyncio.gather(*(m.complete(MESSAGES) for m in [first, second] * 6))
            await first.aclose()
            await second.aclose()

        asyncio.run(many())
    assert len(server.requests) == 12
    assert server.max_in_flight == 3


def test_usage_is_accounted_per_role() -> None:
    with serve(FakeOpenAIServer(replies=[FakeReply("one two")])) as server:
        model = client(server)

        async def both() -> None:
            await model.complete(MESSAGES, role="generator")
            await model.complete(MESSAGES, role="critic")
            await model.complete(MESSAGES, role="critic")
            await model.aclose()

        asyncio.run(both())
    assert model.usage_by_role["generator"].calls == 1
    assert model.usage_by_role["critic"].calls == 2
    assert model.usage_by_role["critic"].completion_tokens == 4
    assert model.usage.calls == 3


def test_n_samples_come_from_one_request_when_the_server_supports_n() -> None:
    replies = [FakeReply("a"), FakeReply("b c"), FakeReply("d")]
    with serve(FakeOpenAIServer(replies=replies)) as server:
        model = client(server)

        async def many():
            try:
                return await model.complete_many(MESSAGES, 3)
            finally:
                await model.aclose()

        completions = asyncio.run(many())
    assert [c.text for c in completions] == ["a", "b c", "d"]
    assert len(server.requests) == 1 and server.requests[0]["n"] == 3
    assert sum(c.completion_tokens for c in completions) == 4
    assert sum(c.prompt_tokens for c in completions) == 2  # the prompt is charged once


def test_n_falls_back_to_parallel_requests_when_the_server_ignores_it() -> None:
    with serve(FakeOpenAIServer(replies=[FakeReply("x")], honor_n=False)) as server:
        model = client(server)

        async def twice():
            try:
                first = await model.complete_many(MESSAGES, 3)
                second = await model.complete_many(MESSAGES, 2)
                return first, second
            finally:
                await model.aclose()

        first, second = asyncio.run(twice())
    assert len(first) == 3 and len(second) == 2
    # 1 request with n=3 (answered with one choice) + 2 more; then, remembered, 2 plain requests.
    assert [r.get("n") for r in server.requests] == [3, None, None, None, None]


def test_continue_final_asks_the_server_to_continue_the_assistant_turn() -> None:
    with serve(FakeOpenAIServer(replies=[FakeReply(" that is wrong.")])) as server:
        messages = [*MESSAGES, {"role": "assistant", "content": "2+3=6. Wait"}]

        async def go():
            model = client(server)
            try:
                return await model.complete(messages, continue_final=True)
            finally:
                await model.aclose()

        result = asyncio.run(go())
    assert result.text == " that is wrong."
    assert server.requests[0]["continue_final_message"] is True
    assert server.requests[0]["add_generation_prompt"] is False
    assert server.requests[0]["messages"][-1]["role"] == "assistant"

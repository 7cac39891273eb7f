"""The server as the official anthropic client sees it: messages, streams, tools, errors."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

from redraft.testing import FakeReply
from tests.server.conftest import raw


def client(url: str, **kwargs: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key="client-key", max_retries=0, **kwargs)


def test_messages_run_a_strategy_with_the_system_prompt_at_top_level(served: Any) -> None:
    replies = [FakeReply("The answer is 18."), FakeReply("Right.\nVERDICT: correct")]
    with served(replies) as s:
        message = client(s.url).messages.create(
            model="self_refine/fake-model",
            max_tokens=300,
            system="Be terse.",
            messages=[{"role": "user", "content": "What is 9+9?"}],
        )
        assert message.content[0].type == "text" and message.content[0].text == "The answer is 18."
        assert message.stop_reason == "end_turn" and message.model == "self_refine/fake-model"
        assert message.usage.output_tokens > 0
        assert len(s.upstream.requests) == 2
        assert all(
            r["messages"][0] == {"role": "system", "content": "Be terse."} for r in s.upstream.requests
        )


def test_messages_stream_named_events(served: Any) -> None:
    with served([FakeReply("The answer is 18.", chunk_delay_s=0.01)]) as s:
        with client(s.url).messages.stream(
            model="direct/fake-model", max_tokens=100, messages=[{"role": "user", "content": "q"}]
        ) as stream:
            texts = list(stream.text_stream)
            final = stream.get_final_message()
        assert texts == ["The ", "answer ", "is ", "18."]
        assert final.stop_reason == "end_turn" and final.usage.output_tokens == 4
        body = raw(
            "POST",
            s.url + "/v1/messages",
            {
                "model": "direct/fake-model",
                "max_tokens": 10,
                "stream": True,
                "messages": [{"role": "user", "content": "q"}],
            },
        )
        names = [line[7:] for line in body.content.decode().splitlines() if line.startswith("event: ")]
        assert names[0] == "message_start" and names[-2:] == ["message_delta", "message_stop"]
        assert "content_block_start" in names and "content_block_delta" in names


def test_tool_use_comes_back_as_a_tool_use_block(served: Any) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 9}'}}
    with served([FakeReply("", tool_calls=[call])]) as s:
        message = client(s.url).messages.create(
            model="direct/fake-model",
            max_tokens=100,
            messages=[{"role": "user", "content": "q"}],
            tools=[{"name": "add", "input_schema": {"type": "object"}}],
        )
        assert message.stop_reason == "tool_use"
        block = message.content[-1]
        assert block.type == "tool_use" and block.name == "add" and block.input == {"a": 9}
        assert s.upstream.requests[0]["tools"][0]["function"]["name"] == "add"


def test_errors_have_anthropic_bodies(served: Any) -> None:
    with served([FakeReply(status=503, error_message="busy")]) as s:
        with pytest.raises(anthropic.APIStatusError) as caught:
            client(s.url).messages.create(
                model="direct/fake-model", max_tokens=10, messages=[{"role": "user", "content": "q"}]
            )
        assert caught.value.status_code == 529 and isinstance(caught.value, anthropic.OverloadedError)
        assert (
            raw(
                "POST",
                s.v1 + "/chat/completions",
                {"model": "direct/fake-model", "messages": [{"role": "user", "content": "q"}]},
            ).status
            == 503
        )
        missing = raw(
            "POST", s.url + "/v1/messages", {"model": "m", "messages": [{"role": "user", "content": "q"}]}
        )
        assert missing.status == 400
        assert (
            missing.json()["type"] == "error" and missing.json()["error"]["type"] == "invalid_request_error"
        )


def test_anthropic_key_header_is_accepted(served: Any) -> None:
    with served(api_keys=["secret"]) as s:
        assert raw("POST", s.url + "/v1/messages", {}).status == 401
        message = anthropic.Anthropic(base_url=s.url, api_key="secret", max_retries=0).messages.create(
            model="direct/fake-model", max_tokens=10, messages=[{"role": "user", "content": "q"}]
        )
        assert message.content

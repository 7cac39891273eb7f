"""The Anthropic Messages translation, checked against the official SDK: its types, client and stream.

The SDK talks to the translation through an in-process `httpx.MockTransport`, so what it sends is
what `to_chat_request` reads and what it parses is what `to_message`, `StreamTranslator`, `sse` and
`error_body` produce: no network, no server.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterable
from typing import Any

import anthropic
import pytest
from anthropic.types import Message, RawMessageStreamEvent
from anthropic.types.shared import ErrorResponse
from pydantic import TypeAdapter

from redraft.server.anthropic import (
    AnthropicRequestError,
    StreamTranslator,
    error_body,
    sse,
    to_chat_request,
    to_message,
)

# The SDK's own HTTP library (httpx, or httpx2 in newer releases), for an in-process transport.
httpx = importlib.import_module(anthropic.DefaultHttpxClient.__mro__[1].__module__.split(".")[0])
EVENTS = TypeAdapter(RawMessageStreamEvent)
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
WEATHER = {"name": "get_weather", "description": "Weather for a city", "input_schema": SCHEMA}
THINKING = {"type": "enabled", "budget_tokens": 1024}


def sdk(handler: Callable[[Any], Any]) -> anthropic.Anthropic:
    transport = httpx.MockTransport(handler)
    return anthropic.Anthropic(api_key="k", base_url="http://proxy.test", max_retries=0,
                               http_client=httpx.Client(transport=transport))


def body(**overrides: Any) -> dict[str, Any]:
    return {"model": "self_refine/gpt-4o-mini", "max_tokens": 64,
            "messages": [{"role": "user", "content": "hi"}], **overrides}


def completion(content: str | None = "Hello there.", tool_calls: list[dict] | None = None,
               finish: str | None = "stop", usage: tuple[int, int] = (12, 5)) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    return {"id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": sum(usage)}}


def call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def chunk(delta: dict[str, Any] | None = None, finish: str | None = None) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}]}


def usage_chunk(prompt: int, completion_tokens: int) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion_tokens}}


def tool_delta(index: int, *, call_id: str | None = None, name: str | None = None,
               arguments: str | None = None) -> dict[str, Any]:
    function = {k: v for k, v in (("name", name), ("arguments", arguments)) if v is not None}
    entry: dict[str, Any] = {"index": index, "function": function}
    if call_id:
        entry.update(id=call_id, type="function")
    return {"tool_calls": [entry]}


def translate(chunks: Iterable[dict[str, Any]], **finish: Any) -> list[tuple[str, dict[str, Any]]]:
    translator = StreamTranslator("self_refine/gpt-4o-mini", "msg_chatcmpl-1")
    events = [event for c in chunks for event in translator.feed(c)]
    return events + translator.finish(**finish)


def streamed(events: list[tuple[str, dict[str, Any]]]) -> tuple[Message, list[str]]:
    """The SDK's own `messages.stream` over our SSE bytes: its final message and its text deltas."""
    payload = StreamTranslator.ping()
    wire = b"".join(sse(name, data) for name, data in events[:1] + [payload] + events[1:])
    client = sdk(lambda _: httpx.Response(200, content=wire, headers={"content-type": "text/event-stream"}))
    with client.messages.stream(model="self_refine/gpt-4o-mini", max_tokens=64,
                                messages=[{"role": "user", "content": "hi"}]) as stream:
        texts = list(stream.text_stream)
        return stream.get_final_message(), texts


# --- requests: Anthropic in, OpenAI chat out --------------------------------------------------


def test_a_multi_turn_conversation_with_system_blocks() -> None:
    chat = to_chat_request(body(
        system=[{"type": "text", "text": "You are terse."},
                {"type": "text", "text": "Answer in French.", "cache_control": {"type": "ephemeral"}}],
        messages=[{"role": "user", "content": "Bonjour"},
                  {"role": "assistant", "content": [{"type": "text", "text": "Salut."}]},
                  {"role": "user", "content": [{"type": "text", "text": "Ça va ?"},
                                               {"type": "text", "text": "Réponds."}]}]))
    assert chat == {"model": "self_refine/gpt-4o-mini", "max_tokens": 64, "messages": [
        {"role": "system", "content": "You are terse.\n\nAnswer in French."},
        {"role": "user", "content": "Bonjour"},
        {"role": "assistant", "content": "Salut."},
        {"role": "user", "content": "Ça va ?\n\nRéponds."}]}


def test_sampling_stop_sequences_and_metadata_carry_over_and_the_rest_is_dropped() -> None:
    redraft = {"strategy": "self_refine", "params": {"rounds": 2}, "feedback": "self"}
    chat = to_chat_request(body(system="Be brief.", temperature=0.2, top_p=0.9, top_k=40,
                                stop_sequences=["END", "###"], thinking=THINKING,
                                metadata={"user_id": "u-1", "redraft": redraft, "other": 1}))
    assert chat == {"model": "self_refine/gpt-4o-mini", "max_tokens": 64, "temperature": 0.2, "top_p": 0.9,
                    "stop": ["END", "###"], "redraft": redraft, "messages": [
                        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]}


def test_streaming_asks_the_upstream_for_usage() -> None:
    assert to_chat_request(body(stream=True))["stream_options"] == {"include_usage": True}
    assert {"stream", "stream_options"}.isdisjoint(to_chat_request(body(stream=False)))


@pytest.mark.parametrize(("choice", "expected"), [
    ({"type": "auto"}, "auto"), ({"type": "any"}, "required"), ({"type": "none"}, "none"),
    ({"type": "tool", "name": "get_weather"}, {"type": "function", "function": {"name": "get_weather"}}),
])
def test_tools_and_tool_choice_become_openai_functions(choice: dict[str, Any], expected: Any) -> None:
    chat = to_chat_request(body(tools=[WEATHER], tool_choice=choice))
    assert chat["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather for a city", "parameters": WEATHER["input_schema"]}}]
    assert chat["tool_choice"] == expected
    assert "parallel_tool_calls" not in chat


def test_disabling_parallel_tool_use_turns_off_parallel_calls() -> None:
    choice = {"type": "auto", "disable_parallel_tool_use": True}
    chat = to_chat_request(body(tools=[WEATHER], tool_choice=choice))
    assert chat["parallel_tool_calls"] is False


def test_tool_use_and_tool_result_round_trip() -> None:
    chat = to_chat_request(body(tools=[WEATHER], messages=[
        {"role": "user", "content": "Weather in Paris and Oslo?"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Oslo"}}]},
        {"role": "user", "content": [
            {"type": "text", "text": "Use Celsius."},
            {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C, sunny"},
            {"type": "tool_result", "tool_use_id": "toolu_2", "is_error": True,
             "content": [{"type": "text", "text": "station offline"}]}]}]))
    user, assistant, first, second, rest = chat["messages"]
    assert user == {"role": "user", "content": "Weather in Paris and Oslo?"}
    assert assistant["role"] == "assistant" and assistant["content"] == "Checking."
    calls = assistant["tool_calls"]
    assert [(c["id"], c["type"], c["function"]["name"]) for c in calls] == [
        ("toolu_1", "function", "get_weather"), ("toolu_2", "function", "get_weather")]
    arguments = [c["function"]["arguments"] for c in calls]
    assert all(isinstance(a, str) for a in arguments)  # OpenAI wants a JSON string, not an object
    assert [json.loads(a) for a in arguments] == [{"city": "Paris"}, {"city": "Oslo"}]
    # tool answers come first, right after the calls, then the user's own text
    assert first == {"role": "tool", "tool_call_id": "toolu_1", "content": "18C, sunny"}
    assert second == {"role": "tool", "tool_call_id": "toolu_2", "content": "[tool error] station offline"}
    assert rest == {"role": "user", "content": "Use Celsius."}


def test_a_turn_of_tool_calls_only_has_no_text_and_a_turn_of_results_only_no_user_message() -> None:
    chat = to_chat_request(body(messages=[
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1"}]}]))
    assert chat["messages"][1] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}
    assert chat["messages"][2:] == [{"role": "tool", "tool_call_id": "t1", "content": ""}]


def test_what_the_sdk_sends_translates() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: Any) -> Any:
        seen.append(json.loads(request.content))
        return httpx.Response(200, json=to_message(completion(), model=seen[-1]["model"]))

    reply = sdk(handler).messages.create(
        model="self_refine/gpt-4o-mini", max_tokens=32, system="Be brief.", tools=[WEATHER],  # type: ignore[list-item]
        tool_choice={"type": "any"}, stop_sequences=["END"], thinking=THINKING,  # type: ignore[arg-type]
        metadata={"user_id": "u-1", "redraft": {"strategy": "self_refine"}},  # type: ignore[typeddict-unknown-key]
        messages=[{"role": "user", "content": [{"type": "text", "text": "Weather?"}]}])
    chat = to_chat_request(seen[0])
    assert chat["messages"] == [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "Weather?"}]
    assert chat["tool_choice"] == "required" and chat["stop"] == ["END"] and "thinking" not in chat
    assert chat["redraft"] == {"strategy": "self_refine"} and chat["max_tokens"] == 32
    assert reply.content[0].type == "text" and reply.content[0].text == "Hello there."


def turn(role: str, *blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": role, "content": list(blocks)}


IMAGE = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
DOCUMENT = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x"}}


@pytest.mark.parametrize(("overrides", "param", "words"), [
    ({"max_tokens": None}, "max_tokens", "required"),
    ({"max_tokens": 0}, "max_tokens", "positive integer"),
    ({"max_tokens": True}, "max_tokens", "positive integer"),
    ({"max_tokens": "64"}, "max_tokens", "positive integer"),
    ({"model": None}, "model", "required"),
    ({"messages": []}, "messages", "non-empty"),
    ({"messages": [{"role": "system", "content": "x"}]}, "messages.0.role", "'user' or 'assistant'"),
    ({"messages": [{"role": "user", "content": 3}]}, "messages.0.content", "string or"),
    ({"messages": [{"role": "user", "content": [{"type": "text", "text": "see"}, IMAGE]}]},
     "messages.0.content.1.type", "'image'"),
    ({"messages": [{"role": "user", "content": [DOCUMENT]}]}, "messages.0.content.0.type", "'document'"),
    ({"messages": [turn("user", {"type": "tool_result", "tool_use_id": "t", "content": [IMAGE]})]},
     "messages.0.content.0.content.0.type", "'image'"),
    ({"messages": [turn("user", {"type": "tool_use", "id": "t", "name": "f", "input": {}})]},
     "messages.0.content.0.type", "user messages"),
    ({"messages": [turn("assistant", {"type": "tool_result", "tool_use_id": "t"})]},
     "messages.0.content.0.type", "assistant messages"),
    ({"messages": [turn("assistant", {"type": "tool_use", "id": "t", "name": "f", "input": "x"})]},
     "messages.0.content.0.input", "object"),
    ({"messages": [turn("user", {"type": "tool_result", "tool_use_id": ""})]},
     "messages.0.content.0.tool_use_id", "required"),
    ({"system": [IMAGE]}, "system.0.type", "'image'"),
    ({"temperature": "hot"}, "temperature", "number"),
    ({"stop_sequences": "END"}, "stop_sequences", "list"),
    ({"stream": "yes"}, "stream", "boolean"),
    ({"tools": [{"name": "f"}]}, "tools.0.input_schema", "required"),
    ({"tools": [{"type": "web_search_20250305", "name": "web_search"}]}, "tools.0.type", "not supported"),
    ({"tool_choice": {"type": "sometimes"}}, "tool_choice.type", "one of"),
    ({"tool_choice": {"type": "tool"}}, "tool_choice.name", "required"),
    ({"metadata": {"redraft": "self_refine"}}, "metadata.redraft", "object"),
])
def test_invalid_requests_name_the_field(overrides: dict[str, Any], param: str, words: str) -> None:
    with pytest.raises(AnthropicRequestError) as caught:
        to_chat_request({k: v for k, v in body(**overrides).items() if v is not None})
    assert caught.value.param == param
    assert str(caught.value).startswith(f"{param}: ") and words in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_body_that_is_not_an_object_has_no_param() -> None:
    with pytest.raises(AnthropicRequestError) as caught:
        to_chat_request(["not", "an", "object"])  # type: ignore[arg-type]
    assert caught.value.param is None


# --- answers: OpenAI completion in, Anthropic message out -------------------------------------


def test_a_text_answer_is_a_valid_message() -> None:
    message = to_message(completion(), model="self_refine/gpt-4o-mini")
    parsed = Message.model_validate(message)
    assert parsed.id == "msg_chatcmpl-1" and parsed.model == "self_refine/gpt-4o-mini"
    assert [(b.type, getattr(b, "text", None)) for b in parsed.content] == [("text", "Hello there.")]
    assert parsed.stop_reason == "end_turn" and parsed.stop_sequence is None
    assert (parsed.usage.input_tokens, parsed.usage.output_tokens) == (12, 5)


def test_a_tool_answer_is_a_valid_message_with_parsed_input() -> None:
    answer = completion("Let me check.", [call("call_1", "get_weather", '{"city": "Paris"}'),
                                           call("call_2", "get_weather", '{"city": "Oslo"}')], "tool_calls")
    parsed = Message.model_validate(to_message(answer, model="m"))
    text, first, second = parsed.content
    assert text.type == "text" and text.text == "Let me check."
    assert first.type == "tool_use" and (first.id, first.name, first.input) == ("call_1", "get_weather",
                                                                                  {"city": "Paris"})
    assert second.type == "tool_use" and second.input == {"city": "Oslo"}
    assert parsed.stop_reason == "tool_use"


def test_tool_calls_without_text_and_ending_in_stop_still_ask_for_tool_use() -> None:
    message = to_message(completion(None, [call("c", "f", "{}")], "stop"), model="m")
    assert [b["type"] for b in message["content"]] == ["tool_use"]
    assert message["stop_reason"] == "tool_use"


@pytest.mark.parametrize(("arguments", "expected"), [
    ('{"a": 1}', {"a": 1}), ("", {}), ('{"a": ', {"_raw": '{"a": '}), ("[1, 2]", {"_raw": "[1, 2]"}),
])
def test_tool_arguments_that_are_not_an_object_are_kept_raw(arguments: str, expected: dict[str, Any]) -> None:
    message = to_message(completion(None, [call("c", "f", arguments)], "tool_calls"), model="m")
    assert message["content"][0]["input"] == expected
    Message.model_validate(message)


@pytest.mark.parametrize(("finish", "stop_sequence", "reason"), [
    ("stop", None, "end_turn"), ("length", None, "max_tokens"), ("tool_calls", None, "tool_use"),
    ("content_filter", None, "refusal"), ("stop", "END", "stop_sequence"), (None, None, "end_turn"),
])
def test_finish_reason_maps_to_stop_reason(finish: str | None, stop_sequence: str | None,
                                           reason: str) -> None:
    message = to_message(completion(finish=finish), model="m", stop_sequence=stop_sequence)
    assert (message["stop_reason"], message["stop_sequence"]) == (reason, stop_sequence)
    Message.model_validate(message)


def test_only_the_first_choice_counts_and_an_empty_text_makes_no_block() -> None:
    answer = completion("")
    answer["choices"].append({"index": 1, "message": {"role": "assistant", "content": "other"},
                              "finish_reason": "length"})
    del answer["id"], answer["usage"]
    message = to_message(answer, model="m")
    assert message["content"] == [] and message["stop_reason"] == "end_turn"
    assert message["id"].startswith("msg_") and len(message["id"]) > 8
    assert message["usage"] == {"input_tokens": 0, "output_tokens": 0}


# --- streams: OpenAI chunks in, Anthropic events out ------------------------------------------


TEXT_CHUNKS = [chunk({"role": "assistant", "content": ""}), chunk({"content": "Hello"}),
               chunk({"content": " there."}), chunk(finish="stop"), usage_chunk(12, 5)]
TOOL_CHUNKS = [chunk({"role": "assistant", "content": "Let me check."}),
               chunk(tool_delta(0, call_id="call_1", name="get_weather", arguments="")),
               chunk(tool_delta(0, arguments='{"ci')), chunk(tool_delta(0, arguments='ty": "Paris"}')),
               chunk(tool_delta(1, call_id="call_2", name="get_weather", arguments='{"city": ')),
               chunk(tool_delta(1, arguments='"Oslo"}')), chunk(finish="tool_calls"), usage_chunk(30, 21)]


def test_a_text_stream_rebuilds_the_same_message_in_the_sdk() -> None:
    final, texts = streamed(translate(TEXT_CHUNKS))
    assert texts == ["Hello", " there."]
    expected = Message.model_validate(to_message(completion(), model="self_refine/gpt-4o-mini"))
    assert final.model_dump() == expected.model_dump()
    assert final.usage.output_tokens == 5 and final.stop_reason == "end_turn"


def test_a_tool_stream_rebuilds_the_same_message_in_the_sdk() -> None:
    final, texts = streamed(translate(TOOL_CHUNKS))
    answer = completion("Let me check.", [call("call_1", "get_weather", '{"city": "Paris"}'),
                                           call("call_2", "get_weather", '{"city": "Oslo"}')],
                        "tool_calls", (30, 21))
    expected = Message.model_validate(to_message(answer, model="self_refine/gpt-4o-mini"))
    assert final.model_dump() == expected.model_dump()
    assert [b.input for b in final.content if b.type == "tool_use"] == [{"city": "Paris"}, {"city": "Oslo"}]
    assert final.stop_reason == "tool_use" and final.usage.output_tokens == 21 and texts == ["Let me check."]


def test_stream_events_come_in_anthropic_order_and_each_is_a_valid_event() -> None:
    events = translate(TOOL_CHUNKS)
    for name, data in events:
        assert EVENTS.validate_python(data).type == name == data["type"]
    assert [(name, data.get("index")) for name, data in events] == [
        ("message_start", None),
        ("content_block_start", 0), ("content_block_delta", 0), ("content_block_stop", 0),
        ("content_block_start", 1), ("content_block_delta", 1), ("content_block_delta", 1),
        ("content_block_stop", 1),
        ("content_block_start", 2), ("content_block_delta", 2), ("content_block_delta", 2),
        ("content_block_stop", 2),
        ("message_delta", None), ("message_stop", None)]
    start = events[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None and start["id"] == "msg_chatcmpl-1"
    assert events[1][1]["content_block"] == {"type": "text", "text": ""}
    assert events[4][1]["content_block"] == {"type": "tool_use", "id": "call_1", "name": "get_weather",
                                             "input": {}}
    assert events[5][1]["delta"] == {"type": "input_json_delta", "partial_json": '{"ci'}
    assert events[-2][1] == {"type": "message_delta",
                             "delta": {"stop_reason": "tool_use", "stop_sequence": None},
                             "usage": {"input_tokens": 30, "output_tokens": 21}}


def test_without_a_usage_chunk_output_tokens_count_the_deltas() -> None:
    events = translate(TEXT_CHUNKS[:-1])
    assert events[-2][1]["usage"]["output_tokens"] == 2  # "Hello", " there."


def test_a_tool_name_that_arrives_late_gets_the_arguments_sent_before_it() -> None:
    events = translate([chunk(tool_delta(0, call_id="call_9", arguments='{"q"')),
                        chunk(tool_delta(0, name="search", arguments=': "x"}')), chunk(finish="tool_calls")])
    final, _ = streamed(events)
    assert [(b.type, b.id, b.name, b.input) for b in final.content] == [
        ("tool_use", "call_9", "search", {"q": "x"})]


def test_a_stop_sequence_named_at_finish_is_reported() -> None:
    final, _ = streamed(translate(TEXT_CHUNKS, stop_sequence="END"))
    assert (final.stop_reason, final.stop_sequence) == ("stop_sequence", "END")


def test_an_empty_stream_still_makes_a_whole_message_and_finish_happens_once() -> None:
    translator = StreamTranslator("m")
    events = translator.finish()
    assert [name for name, _ in events] == ["message_start", "message_delta", "message_stop"]
    assert translator.finish() == [] and translator.feed(chunk({"content": "late"})) == []
    final, _ = streamed(events)
    assert final.content == [] and final.stop_reason == "end_turn" and final.id.startswith("msg_")


def test_an_error_after_the_stream_began_reaches_the_sdk_as_an_api_error() -> None:
    events = translate(TEXT_CHUNKS[:2])[:-2] + [StreamTranslator.error_event(529, "upstream overloaded")]
    with pytest.raises(anthropic.APIStatusError) as caught:
        streamed(events)
    assert caught.value.body == {"type": "error", "error": {"type": "overloaded_error",
                                                           "message": "upstream overloaded"}}


def test_ping_is_the_keepalive_event() -> None:
    assert StreamTranslator.ping() == ("ping", {"type": "ping"})


# --- errors and framing -----------------------------------------------------------------------


@pytest.mark.parametrize(("status", "kind"), [
    (400, "invalid_request_error"), (401, "authentication_error"), (402, "billing_error"),
    (403, "permission_error"), (404, "not_found_error"), (413, "request_too_large"),
    (422, "invalid_request_error"), (429, "rate_limit_error"), (500, "api_error"), (502, "api_error"),
    (503, "api_error"), (504, "timeout_error"), (529, "overloaded_error"),
])
def test_error_bodies_have_anthropic_types(status: int, kind: str) -> None:
    error = error_body(status, "something went wrong")
    assert error == {"type": "error", "error": {"type": kind, "message": "something went wrong"}}
    if kind != "request_too_large":  # in Anthropic's docs, not (yet) in the SDK's union of error objects
        assert ErrorResponse.model_validate(error).error.type == kind


def test_a_529_reaches_the_sdk_as_overloaded() -> None:
    client = sdk(lambda _: httpx.Response(529, json=error_body(529, "Overloaded")))
    with pytest.raises(anthropic.OverloadedError) as caught:
        client.messages.create(model="m", max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 529
    assert caught.value.body == error_body(529, "Overloaded")
    assert caught.value.body["error"]["type"] == "overloaded_error"


def test_sse_frames_one_named_event() -> None:
    frame = sse("content_block_delta", {"type": "content_block_delta", "index": 0,
                                        "delta": {"type": "text_delta", "text": "é\n"}})
    head, data, blank = frame.decode().split("\n", 2)
    assert head == "event: content_block_delta" and blank == "\n" and frame.endswith(b"\n\n")
    assert json.loads(data.removeprefix("data: "))["delta"]["text"] == "é\n"

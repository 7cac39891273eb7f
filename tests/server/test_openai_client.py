"""The server as the official openai client sees it: completions, streams, n, tools, formats."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai
import pytest

from redraft.testing import FakeReply
from tests.server.conftest import raw


def client(base: str, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=base, api_key="client-key", max_retries=0, **kwargs)


def test_a_plain_model_name_passes_through_byte_for_byte(served: Any) -> None:
    with served() as s:
        body = {"model": "fake-model", "messages": [{"role": "user", "content": "hi"}]}
        proxied = raw("POST", s.v1 + "/chat/completions", body)
        direct = raw("POST", s.upstream.base_url + "/chat/completions", body)
        assert proxied.status == 200
        strip = lambda body: {k: v for k, v in json.loads(body).items() if k != "created"}  # noqa: E731
        assert strip(proxied.content) == strip(direct.content)
        assert proxied.headers["x-redraft-strategy"] == "passthrough"
        # the upstream got the server's key, never the client's
        assert s.upstream.authorizations[0] == "Bearer sk-upstream"
        run = s.store().get_run(proxied.headers["x-redraft-run-id"])
        assert run.strategy == "passthrough" and run.final_text == "The answer is 18."


def test_a_strategy_prefix_runs_the_strategy_and_reports_it(served: Any) -> None:
    replies = [
        FakeReply("The answer is 17."),
        FakeReply("The 7 is wrong.\nVERDICT: revise"),
        FakeReply("The answer is 18."),
        FakeReply("Looks right.\nVERDICT: correct"),
    ]
    with served(replies) as s:
        response = client(s.v1).chat.completions.with_raw_response.create(
            model="self_refine[max_rounds=2]/fake-model",
            messages=[
                {"role": "system", "content": "Be terse."},
                {"role": "user", "content": "What is 9+9?"},
            ],
        )
        completion = response.parse()
        assert completion.choices[0].message.content == "The answer is 18."
        assert completion.choices[0].message.role == "assistant"
        assert completion.choices[0].finish_reason == "stop"
        assert completion.model == "self_refine[max_rounds=2]/fake-model"
        assert response.headers["x-redraft-strategy"] == "self_refine[max_rounds=2]"
        assert response.headers["x-redraft-calls"] == "4"
        meta = completion.model_extra["redraft"]  # type: ignore[index]
        assert meta["calls"] == 4 and meta["rounds"] == [1]
        # usage sums every upstream call
        sent = s.upstream.requests
        assert len(sent) == 4
        assert completion.usage is not None and completion.usage.prompt_tokens == sum(
            sum(len(str(m["content"]).split()) for m in r["messages"]) for r in sent
        )
        # the whole conversation reaches every stage: the system prompt leads each call
        assert all(r["messages"][0] == {"role": "system", "content": "Be terse."} for r in sent)
        assert all(r["model"] == "fake-model" for r in sent)
        run = s.store().get_run(response.headers["x-redraft-run-id"])
        assert run.strategy == "self_refine" and run.status == "done"


def test_extra_body_selects_the_strategy_and_its_params(served: Any) -> None:
    with served([FakeReply("The answer is 18.")]) as s:
        completion = client(s.v1).chat.completions.create(
            model="fake-model",
            messages=[{"role": "user", "content": "9+9?"}],
            extra_body={"redraft": {"strategy": "self_consistency", "params": {"k": 3}}},
        )
        assert completion.choices[0].message.content == "The answer is 18."
        assert completion.model_extra["redraft"]["calls"] in (1, 3)  # type: ignore[index]
        assert sum(int(r.get("n") or 1) for r in s.upstream.requests) == 3


def test_optillm_style_name_dash_model(served: Any) -> None:
    with served([FakeReply("x")]) as s:
        response = client(s.v1).chat.completions.with_raw_response.create(
            model="direct-fake-model", messages=[{"role": "user", "content": "hi"}]
        )
        assert response.headers["x-redraft-strategy"] == "direct"
        assert s.upstream.requests[0]["model"] == "fake-model"


def test_sampling_reaches_every_stage(served: Any) -> None:
    replies = [FakeReply("a"), FakeReply("fine\nVERDICT: correct")]
    with served(replies) as s:
        client(s.v1).chat.completions.create(
            model="self_refine/fake-model",
            messages=[{"role": "user", "content": "q"}],
            temperature=0.3,
            top_p=0.9,
            seed=7,
            stop=["###"],
            max_completion_tokens=900,
        )
        for sent in s.upstream.requests:
            assert sent["temperature"] == 0.3 and sent["top_p"] == 0.9 and sent["stop"] == ["###"]
            assert sent["max_tokens"] == 900
        assert [r["seed"] for r in s.upstream.requests] == [7, 8]  # one draw per call


def test_n_runs_independent_strategies_with_summed_usage(served: Any) -> None:
    with served([FakeReply("one two")]) as s:
        completion = client(s.v1).chat.completions.create(
            model="direct/fake-model", messages=[{"role": "user", "content": "q"}], n=2, seed=1
        )
        assert [c.index for c in completion.choices] == [0, 1]
        assert len(s.upstream.requests) == 2
        assert len({r["seed"] for r in s.upstream.requests}) == 2
        assert completion.usage is not None and completion.usage.completion_tokens == 4
        assert len(completion.model_extra["redraft"]["run_ids"]) == 2  # type: ignore[index]


def test_streaming_forwards_the_final_stage_token_by_token(served: Any) -> None:
    with served([FakeReply("The answer is 18.", chunk_delay_s=0.01)]) as s:
        stream = client(s.v1).chat.completions.create(
            model="direct/fake-model",
            messages=[{"role": "user", "content": "q"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
        assert len({c.id for c in chunks}) == 1
        assert chunks[0].choices[0].delta.role == "assistant"
        pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
        assert pieces == ["The ", "answer ", "is ", "18."]  # as the upstream sent them, not one blob
        finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
        assert finish == ["stop"]
        assert chunks[-1].choices == [] and chunks[-1].usage is not None
        assert chunks[-1].usage.completion_tokens == 4


def test_streaming_a_selection_strategy_sends_the_chosen_answer(served: Any) -> None:
    with served([FakeReply("The answer is 18.")]) as s:
        with client(s.v1).chat.completions.stream(
            model="self_consistency[k=3]/fake-model", messages=[{"role": "user", "content": "q"}]
        ) as stream:
            for _ in stream:
                pass
            final = stream.get_final_completion()
        assert final.choices[0].message.content == "The answer is 18."
        assert final.choices[0].finish_reason == "stop"


def test_tools_reach_the_final_stage_and_tool_calls_come_back(served: Any) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": '{"a": 9, "b": 9}'}}
    tools = [{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}]
    with served([FakeReply("", tool_calls=[call])]) as s:
        completion = client(s.v1).chat.completions.create(
            model="direct/fake-model",
            messages=[{"role": "user", "content": "9+9?"}],
            tools=tools,
            tool_choice="auto",
        )
        choice = completion.choices[0]
        assert choice.finish_reason == "tool_calls"
        assert choice.message.tool_calls is not None
        assert choice.message.tool_calls[0].function.arguments == '{"a": 9, "b": 9}'
        assert s.upstream.requests[0]["tools"] == tools


def test_a_strategy_without_a_final_call_says_tools_were_not_offered(served: Any) -> None:
    tools = [{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}]
    with served([FakeReply("18")]) as s:
        completion = client(s.v1).chat.completions.create(
            model="self_consistency[k=2]/fake-model", messages=[{"role": "user", "content": "q"}], tools=tools
        )
        assert "not offered" in completion.model_extra["redraft"]["tools"]  # type: ignore[index]
        assert all("tools" not in r for r in s.upstream.requests)


def test_json_schema_goes_to_answer_calls_and_the_answer_is_validated(served: Any) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "a", "schema": schema}}
    with served([FakeReply('{"answer": 18}')]) as s:
        completion = client(s.v1).chat.completions.create(
            model="direct/fake-model", messages=[{"role": "user", "content": "q"}], response_format=fmt
        )  # type: ignore[arg-type]
        assert json.loads(completion.choices[0].message.content or "") == {"answer": 18}
        assert s.upstream.requests[0]["response_format"] == fmt
    with served([FakeReply('{"answer": "eighteen"}')]) as s, pytest.raises(openai.APIStatusError) as caught:
        client(s.v1).chat.completions.create(
            model="direct/fake-model", messages=[{"role": "user", "content": "q"}], response_format=fmt
        )  # type: ignore[arg-type]
    assert caught.value.status_code == 502 and "schema" in caught.value.message


def test_finish_reason_length_when_the_answer_was_cut(served: Any) -> None:
    with served([FakeReply("cut off", finish_reason="length")]) as s:
        completion = client(s.v1).chat.completions.create(
            model="direct/fake-model", messages=[{"role": "user", "content": "q"}]
        )
        assert completion.choices[0].finish_reason == "length"


def test_reasoning_passes_through_on_the_final_stage(served: Any) -> None:
    with served([FakeReply("18", reasoning="9 and 9 make 18")]) as s:
        completion = client(s.v1).chat.completions.create(
            model="direct/fake-model", messages=[{"role": "user", "content": "q"}]
        )
        assert completion.choices[0].message.model_extra["reasoning_content"] == "9 and 9 make 18"  # type: ignore[index]


def test_async_client_and_models_listing(served: Any) -> None:
    async def use(base: str) -> tuple[str | None, list[str]]:
        async with openai.AsyncOpenAI(base_url=base, api_key="k", max_retries=0) as async_client:
            completion = await async_client.chat.completions.create(
                model="direct/fake-model", messages=[{"role": "user", "content": "q"}]
            )
            models = [m.id for m in (await async_client.models.list()).data]
        return completion.choices[0].message.content, models

    with served() as s:
        text, models = asyncio.run(use(s.v1))
        assert text == "The answer is 18."
        assert "fake-model" in models and "self_refine/fake-model" in models

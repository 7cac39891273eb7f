"""Token logprobs as a model capability: asked for, returned, cached, and never silently dropped."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from redraft.models.base import Completion, Message, ModelError, TokenLogprob, TopLogprob
from redraft.models.cache import ResponseCache
from redraft.models.logprobs import mean_logprob, option_probability, total_logprob
from redraft.models.managed import ManagedModel
from redraft.models.openai_compat import OpenAICompatibleModel
from redraft.models.scripted import ScriptedModel, logprob_reply, word_tokens
from redraft.testing import FakeOpenAIServer, FakeReply, serve

MESSAGES: list[Message] = [{"role": "user", "content": "Is 2 + 2 = 4?"}]
SCRIPTED = [  # OpenAI's `logprobs.content`: "(A) True" in two tokens, A likelier than B
    {
        "token": "(A)",
        "logprob": -0.2,
        "bytes": [40, 65, 41],
        "top_logprobs": [
            {"token": "(A)", "logprob": -0.2, "bytes": None},
            {"token": "(B)", "logprob": -1.8, "bytes": None},
            {"token": "The", "logprob": -4.0, "bytes": None},
        ],
    },
    {"token": " True", "logprob": -0.01, "bytes": None, "top_logprobs": []},
]


def client(server: FakeOpenAIServer, **kwargs: Any) -> ManagedModel:
    inner = OpenAICompatibleModel("fake-model", base_url=server.base_url, api_key="k", timeout_s=5)
    return ManagedModel(inner, backoff_s=0.01, **kwargs)


async def call(model: ManagedModel, **sampling: Any) -> Completion:
    try:
        return await model.complete(MESSAGES, **sampling)
    finally:
        await model.aclose()


def test_an_endpoint_is_asked_for_logprobs_and_its_answer_read() -> None:
    with serve(FakeOpenAIServer(replies=[FakeReply("(A) True", logprobs=SCRIPTED)])) as server:
        result = asyncio.run(call(client(server), logprobs=True, top_logprobs=2))
    assert (server.requests[0]["logprobs"], server.requests[0]["top_logprobs"]) == (True, 2)
    assert result.logprobs is not None and [t.token for t in result.logprobs] == ["(A)", " True"]
    first = result.logprobs[0]
    assert (first.logprob, first.bytes) == (-0.2, [40, 65, 41])
    assert [(a.token, a.logprob) for a in first.top_logprobs] == [("(A)", -0.2), ("(B)", -1.8)]  # 2 asked


def test_a_call_that_does_not_ask_sends_nothing_and_gets_none() -> None:
    with serve(FakeOpenAIServer(replies=[FakeReply("(A) True", logprobs=SCRIPTED)])) as server:
        result = asyncio.run(call(client(server)))
    assert "logprobs" not in server.requests[0] and "top_logprobs" not in server.requests[0]
    assert result.logprobs is None


def test_an_endpoint_that_drops_logprobs_is_an_error_not_a_fallback() -> None:
    with serve(FakeOpenAIServer(replies=[FakeReply("(A) True", drop_logprobs=True)])) as server:
        with pytest.raises(ModelError, match="answered without the token logprobs the call asked for"):
            asyncio.run(call(client(server), logprobs=True))
        assert len(server.requests) == 1  # a capability, not a glitch: not retried


def test_each_of_n_samples_has_its_own_logprobs() -> None:
    replies = [FakeReply("four"), FakeReply("it is 4")]
    with serve(FakeOpenAIServer(replies=replies)) as server:
        model = client(server)

        async def go() -> list[Completion]:
            try:
                return await model.complete_many(MESSAGES, 2, logprobs=True, temperature=0.7)
            finally:
                await model.aclose()

        results = asyncio.run(go())
    assert len(server.requests) == 1 and server.requests[0]["n"] == 2
    assert [[t.token for t in r.logprobs or []] for r in results] == [["four"], ["it ", "is ", "4"]]
    assert all(t.logprob == 0.0 for r in results for t in r.logprobs or [])  # the fake's certain words


def test_a_streamed_call_collects_the_logprobs_of_every_chunk() -> None:
    deltas: list[dict[str, Any]] = []

    async def on_delta(delta: dict[str, Any]) -> None:
        deltas.append(delta)

    with serve(FakeOpenAIServer(replies=[FakeReply("(A) True", logprobs=SCRIPTED)])) as server:
        result = asyncio.run(call(client(server), logprobs=True, top_logprobs=1, on_delta=on_delta))
    assert server.requests[0]["stream"] is True and server.requests[0]["logprobs"] is True
    assert [d["content"] for d in deltas] == ["(A)", " True"] and result.text == "(A) True"
    assert result.logprobs is not None and [t.token for t in result.logprobs] == ["(A)", " True"]
    assert [a.token for a in result.logprobs[0].top_logprobs] == ["(A)"]


def test_a_streamed_call_to_an_endpoint_that_drops_them_is_an_error() -> None:
    async def ignore(delta: dict[str, Any]) -> None:
        return None

    with (
        serve(FakeOpenAIServer(replies=[FakeReply("(A) True", drop_logprobs=True)])) as server,
        pytest.raises(ModelError, match="without the token logprobs"),
    ):
        asyncio.run(call(client(server), logprobs=True, on_delta=ignore))


@pytest.mark.parametrize(
    ("sampling", "message"),
    [
        ({"top_logprobs": 3}, "top_logprobs needs logprobs=True"),
        ({"logprobs": True, "top_logprobs": 21}, "from 0 to 20"),
    ],
)
def test_malformed_logprob_options_are_refused_before_a_call(sampling: dict[str, Any], message: str) -> None:
    inner = ScriptedModel(["x"])
    with pytest.raises(ModelError, match=message):
        asyncio.run(ManagedModel(inner).complete(MESSAGES, **sampling))
    assert inner.history == []


class NoLogprobs:
    """A model of the user's own that says nothing about logprobs (so has none)."""

    name = "plain"
    endpoint = "custom:plain"

    def __init__(self) -> None:
        self.calls = 0

    async def complete(self, messages: list[Message], **sampling: Any) -> Completion:
        self.calls += 1
        return Completion(text="x")


def test_a_model_without_the_capability_is_refused_before_a_call() -> None:
    inner = NoLogprobs()
    model = ManagedModel(inner)
    assert not model.supports_logprobs
    with pytest.raises(ModelError, match="does not return token logprobs"):
        asyncio.run(model.complete(MESSAGES, logprobs=True))
    assert inner.calls == 0
    assert not ManagedModel(ScriptedModel(["x"], supports_logprobs=False)).supports_logprobs
    assert ManagedModel(ScriptedModel(["x"])).supports_logprobs


def test_the_cache_keeps_logprobs_and_keys_on_the_logprob_options(tmp_path) -> None:
    inner = ScriptedModel(["one two", "three", "four", "five"])
    model = ManagedModel(inner, cache=ResponseCache(tmp_path / "cache.db"))

    async def go() -> list[Completion]:
        return [
            await model.complete(MESSAGES, temperature=0, logprobs=True, top_logprobs=1),
            await model.complete(MESSAGES, temperature=0, logprobs=True, top_logprobs=1),
            await model.complete(MESSAGES, temperature=0),
            await model.complete(MESSAGES, temperature=0, logprobs=True, top_logprobs=2),
            await model.complete(MESSAGES, temperature=0, logprobs=True),
        ]

    first, hit, plain, more_top, no_top = asyncio.run(go())
    assert (first.cached, hit.cached) == (False, True)
    assert hit.logprobs == first.logprobs and [t.token for t in hit.logprobs or []] == ["one", " two"]
    assert (plain.text, plain.cached, plain.logprobs) == ("three", False, None)  # not the logprobs entry
    assert (more_top.text, no_top.text) == ("four", "five")  # each option is part of the key
    assert len(inner.history) == 4


def test_scripted_text_replies_come_with_certain_word_tokens() -> None:
    inner = ScriptedModel(["The answer is 4.\n"])
    result = asyncio.run(ManagedModel(inner).complete(MESSAGES, logprobs=True, top_logprobs=5))
    assert [t.token for t in result.logprobs or []] == ["The", " answer", " is", " 4.\n"]
    assert all(
        t.logprob == 0.0 and [a.token for a in t.top_logprobs] == [t.token] for t in result.logprobs or []
    )
    assert word_tokens("  a  b ") == ["  a", "  b "]
    with pytest.raises(ModelError, match="returns no logprobs"):
        asyncio.run(ScriptedModel(["x"], supports_logprobs=False).complete(MESSAGES, logprobs=True))


def test_a_scripted_completion_without_logprobs_plays_a_server_that_drops_them() -> None:
    model = ManagedModel(ScriptedModel([Completion(text="(A)")]))
    with pytest.raises(ModelError, match="without the token logprobs"):
        asyncio.run(model.complete(MESSAGES, logprobs=True))


def test_logprob_reply_scripts_values_and_alternatives() -> None:
    reply = logprob_reply("(A) True", [-0.5, -0.1], top=[{"(A)": -0.5, "(B)": -1.0}])
    assert reply.completion_tokens == 2 and reply.logprobs is not None
    assert [(a.token, a.logprob) for a in reply.logprobs[0].top_logprobs] == [("(A)", -0.5), ("(B)", -1.0)]
    assert [a.token for a in reply.logprobs[1].top_logprobs] == [" True"]
    with pytest.raises(ModelError, match="3 logprobs for the 2 tokens"):
        logprob_reply("(A) True", [-1.0, -1.0, -1.0])


def token(text: str, logprob: float, top: dict[str, float] | None = None) -> TokenLogprob:
    return TokenLogprob(
        token=text,
        logprob=logprob,
        top_logprobs=[TopLogprob(token=t, logprob=v) for t, v in (top or {}).items()],
    )


def test_likelihoods_are_the_sum_and_the_mean_over_tokens() -> None:
    tokens = [token("a", -1.0), token("b", -3.0)]
    assert (total_logprob(tokens), mean_logprob(tokens)) == (-4.0, -2.0)
    assert (total_logprob([]), mean_logprob([])) == (None, None)


def test_an_options_probability_is_read_at_the_first_token_naming_an_option() -> None:
    reply = [
        token("The", -0.1, {"The": -0.1}),
        token(" a", -2.0),  # the article "a" is no option
        token(" (", -0.1),
        token(
            "A",
            math.log(0.6),
            {"A": math.log(0.6), "B": math.log(0.2), " B": math.log(0.1), "C": math.log(0.1)},
        ),
    ]
    assert option_probability(reply, {"A"}, {"B"}) == pytest.approx(0.6 / 0.9)
    # The chosen token counts even when the alternatives returned do not list it.
    assert option_probability(
        [token("False", math.log(0.7), {"True": math.log(0.1)})], {"True"}, {"False"}
    ) == pytest.approx(0.1 / 0.8)
    assert option_probability([token("Maybe", -0.1, {"Maybe": -0.1})], {"A"}, {"B"}) is None

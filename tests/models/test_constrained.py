"""Constrained replies (`choices`): sent only where enabled, in the form the server takes.

An endpoint gets `response_format`/`guided_choice` only when the user opted in
(`ModelConfig.constrained`): a server that does not know them may silently ignore them.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from redraft.models.base import ModelError, choice_grammar, supports_choices
from redraft.models.cache import ResponseCache
from redraft.models.managed import ManagedModel
from redraft.models.openai_compat import OpenAICompatibleModel
from redraft.models.resolve import ModelConfig, build_model
from redraft.models.scripted import ScriptedModel
from redraft.testing import FakeOpenAIServer, FakeReply, serve

MESSAGES = [{"role": "user", "content": "Your verdict?"}]
CHOICES = ["VERDICT: correct", "VERDICT: revise"]


def ask(server: FakeOpenAIServer, constrained: Any, **sampling: Any) -> str:
    inner = OpenAICompatibleModel("fake-model", base_url=server.base_url, timeout_s=5,
                                  constrained=constrained)
    model = ManagedModel(inner, backoff_s=0.0, max_retries=0)

    async def go() -> str:
        try:
            return (await model.complete(MESSAGES, **sampling)).text
        finally:
            await model.aclose()

    return asyncio.run(go())


def test_an_endpoint_is_not_constrained_unless_enabled() -> None:
    with serve(FakeOpenAIServer(replies=[FakeReply("VERDICT: correct")])) as server:
        ask(server, None, temperature=0)
        with pytest.raises(ModelError, match="constrained replies are off"):
            ask(server, None, choices=CHOICES)
    [body] = server.requests
    assert "response_format" not in body and "guided_choice" not in body
    assert not supports_choices(build_model(ModelConfig(model="m", base_url=server.base_url)))


def test_json_schema_sends_an_enum_and_unwraps_the_choice() -> None:
    reply = FakeReply(json.dumps({"choice": "VERDICT: revise"}))
    with serve(FakeOpenAIServer(replies=[reply])) as server:
        text = ask(server, "json_schema", choices=CHOICES)
    assert text == "VERDICT: revise"
    schema = server.requests[0]["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["choice"]["enum"] == CHOICES
    assert "guided_choice" not in server.requests[0]


def test_guided_choice_goes_in_the_body_next_to_continue_final() -> None:
    with serve(FakeOpenAIServer(replies=[FakeReply("VERDICT: correct")])) as server:
        text = ask(server, "guided_choice", choices=CHOICES, continue_final=True)
    assert text == "VERDICT: correct"
    body = server.requests[0]
    assert body["guided_choice"] == CHOICES and body["continue_final_message"] is True
    assert "response_format" not in body


def test_the_config_flag_reaches_the_endpoint_model() -> None:
    model = build_model(ModelConfig(model="m", base_url="http://h/v1", constrained="guided_choice"))
    assert supports_choices(model)
    with pytest.raises(ValueError):
        ModelConfig(constrained="grammar")  # type: ignore[arg-type]


def test_the_cache_keeps_constrained_and_free_replies_apart(tmp_path) -> None:
    inner = ScriptedModel(["free text", "VERDICT: revise"], supports_choices=True)
    model = ManagedModel(inner, cache=ResponseCache(tmp_path / "c.db"))

    async def go() -> list[str]:
        free = await model.complete(MESSAGES, temperature=0)
        constrained = await model.complete(MESSAGES, temperature=0, choices=CHOICES)
        return [free.text, constrained.text]

    assert asyncio.run(go()) == ["free text", "VERDICT: revise"]
    assert len(inner.history) == 2 and model.supports_choices


def test_the_grammar_admits_exactly_the_choices() -> None:
    assert choice_grammar(CHOICES) == 'root ::= "VERDICT: correct" | "VERDICT: revise"'
    with pytest.raises(ModelError, match="at least one"):
        choice_grammar([])


def test_the_environment_opts_every_endpoint_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDRAFT_CONSTRAINED", "json_schema")
    assert supports_choices(build_model(ModelConfig(model="m", base_url="http://h/v1")))
    monkeypatch.setenv("REDRAFT_CONSTRAINED", "grammar")
    with pytest.raises(ModelError, match="REDRAFT_CONSTRAINED='grammar'; expected one of: json_schema"):
        build_model(ModelConfig(model="m", base_url="http://h/v1"))

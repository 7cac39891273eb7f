"""The embedded model's defaults: a repeat penalty and ChatML stops, grammar for `choices`.

Checked against a stand-in for llama.cpp (what `LocalModel` passes it), so the test is
offline and fast; the real model runs in tests/test_embedded_model.py (slow).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from redraft.models import local
from redraft.models.cache import ResponseCache
from redraft.models.managed import ManagedModel

pytest.importorskip("llama_cpp")

MESSAGES = [{"role": "user", "content": "What is 17 * 23?"}]


class FakeLlama:
    """Records the keyword arguments of each chat completion and answers one line."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def create_chat_completion(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"choices": [{"message": {"content": "391"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 1}}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[local.LocalModel, FakeLlama]:
    llm = FakeLlama()
    monkeypatch.setattr(local, "_load", lambda path, n_ctx, logits_all=False: llm)
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    return local.LocalModel(gguf), llm


Fake = tuple[local.LocalModel, FakeLlama]


def test_defaults_stop_repetition_and_end_at_the_chatml_turn(fake: Fake) -> None:
    model, llm = fake
    asyncio.run(model.complete(MESSAGES, temperature=0))
    [sent] = llm.calls
    assert sent["repeat_penalty"] == local.DEFAULT_REPEAT_PENALTY > 1.0
    assert "<|im_end|>" in sent["stop"] and "<|im_start|>" in sent["stop"]
    assert sent["max_tokens"] == local.DEFAULT_MAX_TOKENS


def test_the_caller_overrides_every_default(fake: tuple[local.LocalModel, FakeLlama]) -> None:
    model, llm = fake
    asyncio.run(model.complete(MESSAGES, repeat_penalty=1.0, stop=["\n\n"], max_tokens=7))
    [sent] = llm.calls
    assert (sent["repeat_penalty"], sent["stop"], sent["max_tokens"]) == (1.0, ["\n\n"], 7)


def test_choices_become_a_grammar(fake: tuple[local.LocalModel, FakeLlama]) -> None:
    model, llm = fake
    assert model.supports_choices
    asyncio.run(model.complete(MESSAGES, choices=["VERDICT: correct", "VERDICT: revise"]))
    [sent] = llm.calls
    assert "choices" not in sent and type(sent["grammar"]).__name__ == "LlamaGrammar"


def test_changed_defaults_are_not_answered_from_the_cache(
    fake: tuple[local.LocalModel, FakeLlama], tmp_path: Path
) -> None:
    model, llm = fake
    managed = ManagedModel(model, cache=ResponseCache(tmp_path / "cache.db"))

    async def twice() -> None:
        await managed.complete(MESSAGES, temperature=0)
        model.sampling_defaults["repeat_penalty"] = 1.3
        await managed.complete(MESSAGES, temperature=0)

    asyncio.run(twice())
    assert [c["repeat_penalty"] for c in llm.calls] == [local.DEFAULT_REPEAT_PENALTY, 1.3]

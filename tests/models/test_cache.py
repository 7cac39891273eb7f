"""The response cache: deterministic requests are answered once, samples stay distinct."""

from __future__ import annotations

import asyncio

from redraft.models.cache import ResponseCache
from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel

MESSAGES = [{"role": "user", "content": "q"}]


def cached_model(tmp_path, replies) -> tuple[ManagedModel, ScriptedModel]:
    inner = ScriptedModel(replies)
    return ManagedModel(inner, cache=ResponseCache(tmp_path / "cache.db")), inner


def test_temperature_zero_requests_are_answered_from_the_cache(tmp_path) -> None:
    model, inner = cached_model(tmp_path, ["first", "second"])

    async def twice():
        return (await model.complete(MESSAGES, temperature=0),
                await model.complete(MESSAGES, temperature=0))

    a, b = asyncio.run(twice())
    assert (a.text, b.text) == ("first", "first") and (a.cached, b.cached) == (False, True)
    assert len(inner.history) == 1
    assert model.usage.calls == 2  # a cached answer still costs the method its tokens


def test_the_cache_survives_the_process_and_keys_on_the_whole_request(tmp_path) -> None:
    model, _ = cached_model(tmp_path, ["x"])
    asyncio.run(model.complete(MESSAGES, temperature=0, max_tokens=5))
    again, inner = cached_model(tmp_path, ["y", "z"])

    async def more():
        return (await again.complete(MESSAGES, temperature=0, max_tokens=5),
                await again.complete(MESSAGES, temperature=0, max_tokens=6))

    same, other = asyncio.run(more())
    assert (same.text, same.cached) == ("x", True)
    assert (other.text, other.cached) == ("y", False)


def test_random_sampling_is_not_cached_but_seeded_sampling_is(tmp_path) -> None:
    model, inner = cached_model(tmp_path, ["a", "b", "c", "d"])

    async def go():
        await model.complete(MESSAGES, temperature=0.7)
        await model.complete(MESSAGES, temperature=0.7)
        await model.complete(MESSAGES, temperature=0.7, seed=1)
        return await model.complete(MESSAGES, temperature=0.7, seed=1)

    last = asyncio.run(go())
    assert len(inner.history) == 3 and last.text == "c" and last.cached


def test_seeded_samples_get_distinct_seeds(tmp_path) -> None:
    model, inner = cached_model(tmp_path, ["a", "b", "c"])
    texts = [c.text for c in asyncio.run(model.complete_many(MESSAGES, 3, temperature=0.7, seed=10))]
    assert texts == ["a", "b", "c"]
    assert [s["seed"] for _, s in inner.history] == [10, 11, 12]
    repeat = asyncio.run(model.complete_many(MESSAGES, 3, temperature=0.7, seed=10))
    assert [c.text for c in repeat] == ["a", "b", "c"] and all(c.cached for c in repeat)

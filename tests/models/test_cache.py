"""The response cache: deterministic requests are answered once, samples stay distinct."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor

from redraft.models.base import Completion
from redraft.models.cache import ResponseCache
from redraft.models.cache import migrations as cache_migrations
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


def test_a_fresh_cache_records_its_migration(tmp_path) -> None:
    cache = ResponseCache(tmp_path / "cache.db")
    assert [r[0] for r in cache.db.execute("select name from _redraft_migrations")] == ["m001_responses"]
    assert cache_migrations.names == ["m001_responses"]


def test_a_cache_made_before_migrations_opens_and_keeps_its_answers(tmp_path) -> None:
    path = tmp_path / "cache.db"
    old = sqlite3.connect(path)  # what ResponseCache did before it had migrations
    old.execute("create table if not exists responses (key text primary key, completions_json text not null)")
    kept = json.dumps([Completion(text="kept").model_dump()])
    old.execute("insert into responses values (?, ?)", ("k", kept))
    old.commit()
    old.close()
    cache = ResponseCache(path)
    [hit] = cache.get("k") or []
    assert (hit.text, hit.cached) == ("kept", True)
    assert [r[0] for r in cache.db.execute("select name from _redraft_migrations")] == ["m001_responses"]


def test_caches_opened_at_once_on_a_fresh_file_migrate_once(tmp_path) -> None:
    path = tmp_path / "cache.db"
    with ThreadPoolExecutor(4) as pool:
        caches = list(pool.map(lambda _: ResponseCache(path), range(4)))
    caches[0].put("k", [Completion(text="a")])
    assert [c.text for c in caches[3].get("k") or []] == ["a"]
    assert caches[0].db.execute("select count(*) from _redraft_migrations").fetchone()[0] == 1

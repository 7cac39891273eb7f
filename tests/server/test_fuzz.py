"""The HTTP API fuzzed from its own OpenAPI document: no 500, no hang, whatever the body.

Bodies are drawn from the published request schemas (so most reach deep into validation and
strategy building), then mangled: fields dropped, types swapped, raw bytes. Bounded in count
and in time per request; deterministic (derandomized), so CI sees the same cases every run.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from redraft.server.openapi import openapi_document
from redraft.testing import FakeReply
from tests.server.conftest import proxy, raw

ALLOWED = {200, 400, 401, 404, 405, 413, 422, 429, 502, 503, 504, 529}
PER_REQUEST_S = 10.0


def request_schema(path: str) -> dict[str, Any]:
    document = openapi_document()
    ref = document["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return {**ref, "components": document["components"]}


def mangled(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    valid = from_schema(schema)
    json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                               | st.text(max_size=20),
                               lambda inner: st.lists(inner, max_size=4)
                               | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
    dropped = valid.flatmap(lambda body: st.sets(st.sampled_from(sorted(body) or [""]))
                            .map(lambda keys: {k: v for k, v in body.items() if k not in keys}))
    swapped = st.tuples(valid, st.text(min_size=1, max_size=10), json_values).map(
        lambda t: {**t[0], t[1]: t[2]} if isinstance(t[0], dict) else t[0])
    return st.one_of(valid, dropped, swapped, json_values)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with proxy([FakeReply("The answer is 18.\nVERDICT: correct")],
               db=tmp_path_factory.mktemp("fuzz") / "runs.db", max_calls_per_request=8) as served:
        yield served


def check(server: Any, path: str, payload: bytes) -> None:
    started = time.perf_counter()
    response = raw("POST", server.v1 + path, data=payload, timeout=PER_REQUEST_S)
    assert time.perf_counter() - started < PER_REQUEST_S
    assert response.status in ALLOWED, (response.status, payload[:300], response.content[:300])
    if response.status != 200:
        error = json.loads(response.content)
        assert "error" in error


FUZZ = settings(max_examples=80, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@FUZZ
@given(body=mangled(request_schema("/v1/chat/completions")))
def test_chat_completions_never_fails_inside(server: Any, body: Any) -> None:
    check(server, "/chat/completions", json.dumps(body).encode())


@FUZZ
@given(body=mangled(request_schema("/v1/messages")))
def test_messages_never_fails_inside(server: Any, body: Any) -> None:
    check(server, "/messages", json.dumps(body).encode())


@settings(max_examples=30, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(payload=st.binary(max_size=200))
def test_raw_bytes_are_a_client_error(server: Any, payload: bytes) -> None:
    check(server, "/chat/completions", payload)

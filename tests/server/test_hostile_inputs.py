"""What a hostile review of `redraft serve` found, each pinned as the behaviour it must keep:
crashes on odd input, keys and files a client could reach, passthrough streams and records,
choices that kept spending, limits a route skipped, metrics a client could grow, text kept
under --no-store-content. Each docstring names the defect the test was written against."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import redraft.server.service as service_module
from redraft.server.app import create_app
from redraft.server.config import ServerConfig
from redraft.testing import FakeOpenAIServer, FakeReply, serve, serve_app
from tests.server.conftest import raw

CHAT = "/chat/completions"
MESSAGES = "/messages"


def body(model: str = "direct/fake-model", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "q"}], **extra}


def anthropic(model: str = "fake-model", **extra: Any) -> dict[str, Any]:
    return {"model": model, "max_tokens": 50, "messages": [{"role": "user", "content": "q"}], **extra}


def exchange(url: str, payload: dict[str, Any], *, timeout: float = 3.0) -> bytes:
    """One POST over a bare socket; everything the server wrote until it closed (or went quiet)."""
    host, port = url.split("//", 1)[1].split("/", 1)[0].split(":")
    data = json.dumps(payload).encode()
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(data) + data
        )
        sock.settimeout(timeout)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass
        return received


@contextmanager
def redraft_in_front_of(upstream_url: str, db: Path, **config: Any) -> Iterator[str]:
    settings = ServerConfig(
        **{
            "upstream": upstream_url,
            "upstream_api_key": "sk-upstream",
            "store_path": db,
            "upstream_retries": 0,
            **config,
        }
    )
    with serve_app(lambda: create_app(settings), handler_cancellation=True) as url:
        yield url


def sse_chunk(text: str) -> bytes:
    chunk = {
        "id": "x",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


# -- crashes: a client's input answered with a 500 or with no response at all -----------------


def test_deeply_nested_json_is_a_400_not_a_500(served: Any) -> None:
    """http.py:40 catches ValueError only; json.loads raises RecursionError on deep nesting."""
    with served() as s:
        deep = b'{"model": "direct/m", "messages": ' + b"[" * 5000 + b"]" * 5000 + b"}"
        response = raw("POST", s.v1 + CHAT, data=deep)
        assert response.status == 400, response.content


def test_a_non_ascii_api_key_is_a_401_not_a_500(served: Any) -> None:
    """app.py:125 encodes the header with utf-8; a latin-1 byte arrives as a surrogate."""
    with served(api_keys=["key-one"]) as s:
        response = raw("POST", s.v1 + CHAT, body(), headers={"Authorization": "Bearer caf\u00e9"})
        assert response.status == 401, response.content


def test_a_strategy_spec_with_a_newline_still_gets_a_response(served: Any) -> None:
    """`direct\\n` builds, then goes verbatim into the x-redraft-strategy header (openai_routes /
    service.py:210): aiohttp refuses the header after the handler returned, the connection drops."""
    with served() as s:
        try:
            response = raw("POST", s.v1 + CHAT, body("fake-model", redraft={"strategy": "direct\n"}))
        except (ConnectionError, OSError) as exc:  # http.client.RemoteDisconnected
            pytest.fail(f"the server dropped the connection without an answer: {exc!r}")
        assert response.status in (200, 400)


def test_redraft_params_cannot_set_the_task_and_reach_the_oracle(served: Any) -> None:
    """chat.py:77 passes `redraft.params` as **kwargs to build_strategy, whose own `task` keyword
    they can set: the oracle's "needs a task" refusal is bypassed and the run ends in a 500."""
    with served() as s:
        response = raw(
            "POST",
            s.v1 + CHAT,
            body("fake-model", redraft={"strategy": "self_refine@oracle", "params": {"task": "gsm8k"}}),
        )
        assert response.status == 400, response.content
        assert s.upstream.requests == []


# -- security: what the server opens, leaks or lets a client reach -----------------------------


def test_a_client_model_name_never_loads_a_local_file(served: Any) -> None:
    """service.py builds ModelConfig(model=<client's name>); resolve.py:54 treats `local:PATH` as
    the embedded model at PATH, so a client makes the server open files of its choosing
    (`model file not found: ...` answers which exist; an existing non-GGUF file is a 500)."""
    with served() as s:
        response = raw("POST", s.v1 + CHAT, body("direct/local:/nonexistent/weights.gguf"))
        assert "model file not found" not in response.content.decode()
        assert [r["model"] for r in s.upstream.requests] == ["local:/nonexistent/weights.gguf"]


def test_passthrough_never_echoes_the_upstream_key(served: Any) -> None:
    """passthrough.py:61 returns the upstream's error body as it is; a strategy run redacts it."""
    echoed = FakeReply(status=401, error_message="Incorrect API key provided: sk-upstream")
    with served([echoed]) as s:
        response = raw("POST", s.v1 + CHAT, body("fake-model"))
        assert b"sk-upstream" not in response.content


def test_passthrough_an_upstream_401_is_a_502_not_the_clients_401(served: Any) -> None:
    """errors.py: an upstream 401 is about the server's own key, so a strategy run makes it a 502;
    passthrough.py:61 hands it to the client, whose SDK then blames the client's key."""
    with served([FakeReply(status=401, error_message="bad key")]) as s:
        assert raw("POST", s.v1 + CHAT, body()).status == 502
        assert raw("POST", s.v1 + CHAT, body("fake-model")).status == 502


def test_passthrough_errors_never_reveal_credentials_in_the_upstream_url(isolated_env: Path) -> None:
    """passthrough.py:72/76 put self.url (with its user:password) in the client's error message."""
    upstream = FakeOpenAIServer(replies=[FakeReply("late", delay_s=1.0)])
    with serve(upstream):
        url = upstream.base_url.replace("http://", "http://user:pw-secret@")
        with redraft_in_front_of(url, isolated_env, upstream_api_key=None, upstream_timeout_s=0.3) as proxy:
            response = raw("POST", proxy + "/v1" + CHAT, body("fake-model"))
            assert response.status == 504
            assert b"pw-secret" not in response.content


def test_passthrough_works_with_credentials_in_the_upstream_url_and_a_key(isolated_env: Path) -> None:
    """The model layer sends URL credentials as a header (openai_compat.basic_auth); the Forwarder
    posts to the URL with them and a Bearer header, which aiohttp refuses: a ValueError, a 500."""
    upstream = FakeOpenAIServer(replies=[FakeReply("hello")])
    with serve(upstream):
        url = upstream.base_url.replace("http://", "http://user:pw@")
        with redraft_in_front_of(url, isolated_env) as proxy:
            assert raw("POST", proxy + "/v1" + CHAT, body("direct/fake-model")).status == 200
            response = raw("POST", proxy + "/v1" + CHAT, body("fake-model"))
            assert response.status == 200, response.content


def test_passthrough_sends_the_same_upstream_key_as_a_strategy_run(
    served: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--upstream-api-key` defaults to $OPENAI_API_KEY: strategy runs get it through ModelConfig,
    but the Forwarder (app.py:51) is given config.upstream_api_key only, so passthrough sends none."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    with served(upstream_api_key=None) as s:
        raw("POST", s.v1 + CHAT, body("direct/fake-model"))
        raw("POST", s.v1 + CHAT, body("fake-model"))
        assert s.upstream.authorizations == ["Bearer sk-env", "Bearer sk-env"]


# -- passthrough streams and records -----------------------------------------------------------


def test_passthrough_stream_is_not_cut_by_the_total_timeout(served: Any) -> None:
    """passthrough.py:37 ClientTimeout(total=...) bounds the whole stream, not a wait for bytes: a
    stream that keeps sending for longer than the timeout is cut (and then corrupted, see below)."""
    reply = FakeReply("one two three four five six seven eight", chunk_delay_s=0.1)
    with served([reply], upstream_timeout_s=0.5) as s:
        received = exchange(s.url, body("fake-model", stream=True))
        assert received.startswith(b"HTTP/1.1 200")
        assert b"data: [DONE]" in received


def test_passthrough_stream_broken_midway_never_writes_a_second_http_response(isolated_env: Path) -> None:
    """passthrough.py:76 raises ApiError after the stream was prepared; the middleware's error
    Response is then written into the chunked body: `HTTP/1.1 502 Bad Gateway` inside the SSE."""

    async def breaking(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(sse_chunk("hello "))
        await asyncio.sleep(0.05)
        assert request.transport is not None
        request.transport.abort()
        return response

    def build() -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", breaking)
        return app

    with serve_app(build) as upstream, redraft_in_front_of(upstream + "/v1", isolated_env) as proxy:
        received = exchange(proxy, body("fake-model", stream=True), timeout=1.5)
        assert received.count(b"HTTP/1.1 ") == 1, received


def test_a_failed_passthrough_is_still_a_run_in_the_store(served: Any) -> None:
    """openai_routes.py:79: forward() raising (unreachable, timeout) skips record(), so the request
    leaves no run, while a strategy request that fails the same way is recorded."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with served(upstream=f"http://127.0.0.1:{port}/v1") as s:
        assert raw("POST", s.v1 + CHAT, body("fake-model")).status == 502
        assert len(s.store().list_runs()) == 1


def test_an_abandoned_passthrough_stream_is_still_a_run_in_the_store(served: Any) -> None:
    """A client hanging up mid-stream cancels the handler before record() (openai_routes.py:81)."""
    reply = FakeReply("one two three four five six seven eight nine ten", chunk_delay_s=0.05)
    with served([reply]) as s:
        host, port = s.url.split("//")[1].split(":")
        data = json.dumps(body("fake-model", stream=True)).encode()
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(
                b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % len(data) + data
            )
            sock.recv(200)  # the stream has begun
        time.sleep(0.8)
        assert len(s.store().list_runs()) == 1


def test_passthrough_honours_the_upstream_concurrency_limit(served: Any) -> None:
    """passthrough.py:43 TCPConnector(limit=0): unbounded connections upstream; strategy calls keep
    to `upstream_concurrency`, passthrough ignores it."""
    with served([FakeReply("x", delay_s=0.3)], upstream_concurrency=2) as s:
        threads = [
            threading.Thread(target=raw, args=("POST", s.v1 + CHAT, body("fake-model"))) for _ in range(5)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert s.upstream.max_in_flight <= 2


def test_redraft_options_without_a_strategy_are_not_forwarded_upstream(served: Any) -> None:
    """With no strategy, a body with `redraft` (params, progress) is passed through byte for byte,
    `redraft` included: a real upstream answers 400 for the unknown field, the params are lost."""
    with served() as s:
        raw("POST", s.v1 + CHAT, body("fake-model", redraft={"params": {"k": 3}}))
        assert all("redraft" not in request for request in s.upstream.requests)


# -- requests, choices and the model pool ------------------------------------------------------


def test_openai_nullable_fields_are_accepted(served: Any) -> None:
    """The OpenAI API types `n` and `stream` as nullable (clients send null); schema.py:46-47 makes
    them plain int/bool, so even a passthrough request is refused with a 400."""
    with served() as s:
        assert raw("POST", s.v1 + CHAT, body("fake-model", n=None)).status == 200
        assert raw("POST", s.v1 + CHAT, body("fake-model", stream=None)).status == 200


def test_n_choices_stop_spending_once_one_of_them_fails(served: Any) -> None:
    """openai_routes.py:57 asyncio.gather: the first failure answers the client, the other choices
    keep running and calling the upstream for nobody."""

    def respond(request: dict[str, Any]) -> FakeReply:
        if request.get("seed") == 1:  # choice 0's first call
            return FakeReply(status=400, error_message="refused")
        return FakeReply("draft", delay_s=0.2)

    with served(respond=respond) as s:
        response = raw("POST", s.v1 + CHAT, body("self_refine[max_rounds=3]/fake-model", n=2, seed=1))
        assert response.status == 400
        sent = len(s.upstream.requests)
        time.sleep(0.8)
        assert len(s.upstream.requests) == sent


def test_evicting_a_pooled_model_never_breaks_a_request_in_flight(
    served: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """service.py:76 closes the oldest model's client when the pool is full, even while a request
    is using it: other clients naming new models break an innocent request (a 504 here)."""
    monkeypatch.setattr(service_module, "MAX_MODELS", 2)

    def respond(request: dict[str, Any]) -> FakeReply:
        return FakeReply("slow", delay_s=0.6) if request["model"] == "a" else FakeReply("fast")

    with served(respond=respond) as s:
        answers: dict[str, Any] = {}
        first = threading.Thread(
            target=lambda: answers.setdefault("a", raw("POST", s.v1 + CHAT, body("direct/a")))
        )
        first.start()
        time.sleep(0.2)
        for name in ("b", "c"):
            assert raw("POST", s.v1 + CHAT, body(f"direct/{name}")).status == 200
        first.join()
        assert answers["a"].status == 200, answers["a"].content


def test_the_per_request_call_limit_covers_all_n_choices(served: Any) -> None:
    """config.py `max_calls_per_request` is applied per choice (http.budget_of -> one Budget per run),
    so n=3 makes three times the calls the limit allows one request."""
    replies = [FakeReply("draft"), FakeReply("bad\nVERDICT: revise")]
    with served(replies, max_calls_per_request=2) as s:
        raw("POST", s.v1 + CHAT, body("self_refine[max_rounds=5]/fake-model", n=3))
        assert len(s.upstream.requests) <= 2


def test_an_invalid_response_format_schema_is_refused_before_any_call(served: Any) -> None:
    """chat.py:156 checks the schema only against the final answer, after the whole run was paid for."""
    bad = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "bogus"}}}
    with served([FakeReply('{"a": 1}')]) as s:
        response = raw("POST", s.v1 + CHAT, body("direct/fake-model", response_format=bad))
        assert response.status == 400
        assert s.upstream.requests == []


def test_an_unbalanced_strategy_spec_is_a_400_not_a_passthrough(served: Any) -> None:
    """selection.py:45: `self_refine[max_rounds=1/m` (a missing `]`) splits into no prefix, so the
    request meant for a strategy is silently passed through under a model name no upstream has."""
    with served() as s:
        response = raw("POST", s.v1 + CHAT, body("self_refine[max_rounds=1/fake-model"))
        assert response.status == 400
        assert s.upstream.requests == []


def test_tool_results_can_be_answered_through_direct(served: Any) -> None:
    """chat.py:83 refuses a conversation that does not end with a user turn, so the second request
    of every tool loop (it ends with the tool's result) is a 400 under any strategy, even `direct`."""
    messages = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "w", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "sunny"},
    ]
    tools = [{"type": "function", "function": {"name": "w", "parameters": {"type": "object"}}}]
    with served([FakeReply("It is sunny.")]) as s:
        response = raw(
            "POST", s.v1 + CHAT, {"model": "direct/fake-model", "messages": messages, "tools": tools}
        )
        assert response.status == 200, response.content
        assert s.upstream.requests[-1]["messages"][-1]["role"] == "tool"


# -- the Anthropic route -----------------------------------------------------------------------


def test_the_anthropic_route_enforces_max_messages(served: Any) -> None:
    """anthropic_routes.py:58 skips openai_routes.parse, where the message limit is checked."""
    turns = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}] * 3
    with served(max_messages=3) as s:
        response = raw(
            "POST", s.v1 + MESSAGES, anthropic(messages=[*turns, {"role": "user", "content": "q"}])
        )
        assert response.status == 400
        assert s.upstream.requests == []


def test_the_anthropic_tool_loop_works(served: Any) -> None:
    """A tool_result turn becomes a trailing `tool` message and chat.py:83 refuses it: with no
    passthrough on /v1/messages, no Anthropic client can finish a tool loop."""
    messages = [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "w", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"}]},
    ]
    tools = [{"name": "w", "input_schema": {"type": "object"}}]
    with served([FakeReply("It is sunny.")]) as s:
        response = raw("POST", s.v1 + MESSAGES, anthropic(messages=messages, tools=tools))
        assert response.status == 200, response.content
        assert response.json()["content"][0]["text"] == "It is sunny."


def test_an_anthropic_assistant_prefill_is_accepted(served: Any) -> None:
    """Anthropic's API continues a final assistant turn (prefill); chat.py:83 answers 400 and tells
    the client to use a passthrough the Anthropic route does not have."""
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "The answer is"}]
    with served([FakeReply(" 18.")]) as s:
        response = raw("POST", s.v1 + MESSAGES, anthropic(messages=messages))
        assert response.status == 200, response.content


def test_the_anthropic_route_says_when_tools_were_not_offered(served: Any) -> None:
    """service.py:201 explains dropped tools in the `redraft` metadata, which to_message
    (anthropic_routes.py:71) never carries: an Anthropic client's tools vanish silently."""
    tools = [{"name": "w", "input_schema": {"type": "object"}}]
    with served([FakeReply("fine\nVERDICT: correct")]) as s:
        response = raw("POST", s.v1 + MESSAGES, anthropic("self_refine/fake-model", tools=tools))
        assert response.status == 200
        said = response.content.decode() + json.dumps(response.headers)
        assert "not offered" in said


# -- metrics -----------------------------------------------------------------------------------


def test_metrics_do_not_grow_a_series_per_unknown_path(served: Any) -> None:
    """app.py:106 labels requests with request.path, so any client, unauthenticated too, adds a
    time series per distinct path: unbounded memory and a /metrics page that grows forever."""
    with served(api_keys=["k"]) as s:
        for i in range(20):
            raw("GET", s.url + f"/probe-{i}")
        metrics = raw("GET", s.url + "/metrics", headers={"Authorization": "Bearer k"}).content.decode()
        assert "/probe-" not in metrics


def test_metrics_do_not_grow_a_series_per_strategy_spec(served: Any) -> None:
    """app.py:92 labels requests with the client's spec string (x-redraft-strategy), parameters and
    all, so each distinct `self_consistency[k=N]` adds a time series."""
    with served([FakeReply("18")]) as s:
        for k in range(1, 6):
            assert raw("POST", s.v1 + CHAT, body(f"self_consistency[k={k}]/fake-model")).status == 200
        metrics = raw("GET", s.url + "/metrics").content.decode()
        assert "k=" not in metrics


# -- --no-store-content ------------------------------------------------------------------------


def test_no_store_content_keeps_no_request_text_in_the_sampling(served: Any) -> None:
    """store.py:156 writes call sampling as it is: passthrough records every body field but the
    messages (a `prediction`'s text), strategy runs the tools' descriptions and stop strings."""
    with served([FakeReply("answer")], store_content=False) as s:
        passed = raw(
            "POST", s.v1 + CHAT, body("fake-model", prediction={"type": "content", "content": "secret-a"})
        )
        tools = [{"type": "function", "function": {"name": "f", "description": "secret-b"}}]
        ran = raw("POST", s.v1 + CHAT, body("direct/fake-model", tools=tools, stop=["secret-c"]))
        store = s.store()
        dump = json.dumps([store.get_run(r.headers["x-redraft-run-id"]).model_dump() for r in (passed, ran)])
        assert "secret" not in dump


def test_no_store_content_keeps_no_text_in_candidate_metadata(served: Any) -> None:
    """store.py:171 writes candidate metadata as it is: progco keeps its model-written program and
    the executor's reply there, stored with --no-store-content."""
    reply = FakeReply("secret-out\n```python\ndef verify(answer):\n    return 'secret-program'\n```")
    with served([reply], store_content=False) as s:
        response = raw("POST", s.v1 + CHAT, body("progco[max_rounds=1]/fake-model"))
        assert response.status == 200
        dump = json.dumps(s.store().get_run(response.headers["x-redraft-run-id"]).model_dump())
        assert "secret" not in dump

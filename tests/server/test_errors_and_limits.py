"""Every failure with its real status and an OpenAI-shaped body; auth, limits, isolation."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import openai

from redraft.testing import FakeReply
from tests.server.conftest import raw

CHAT = "/chat/completions"


def body(model: str = "direct/fake-model", **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "q"}], **extra}


def error_of(response: Any) -> dict[str, Any]:
    err = response.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    return err


def test_malformed_json_is_a_400_that_says_do_not_retry(served: Any) -> None:
    with served() as s:
        response = raw("POST", s.v1 + CHAT, data=b'{"model": ')
        assert response.status == 400
        assert response.headers["x-should-retry"] == "false"
        assert "not valid JSON" in error_of(response)["message"]
        assert s.upstream.requests == []


def test_an_unknown_strategy_or_bad_param_is_a_400(served: Any) -> None:
    with served() as s:
        response = raw("POST", s.v1 + CHAT, body("fake-model", redraft={"strategy": "no_such_method"}))
        assert response.status == 400 and "no_such_method" in error_of(response)["message"]
        response = raw("POST", s.v1 + CHAT, body("self_refine[max_rounds=-1]/fake-model"))
        assert response.status == 400 and "max_rounds" in error_of(response)["message"]
        response = raw("POST", s.v1 + CHAT, body("fake-model", redraft={"strategy": "direct", "bogus": 1}))
        assert response.status == 400 and error_of(response)["param"] == "redraft.bogus"
        response = raw("POST", s.v1 + CHAT, body("magicore[min_confidence=dataset]/fake-model"))
        assert response.status == 400 and "needs an evaluation" in error_of(response)["message"]
        assert s.upstream.requests == []


def test_bad_fields_are_400s_naming_the_field(served: Any) -> None:
    with served(max_n=2, max_messages=3) as s:
        cases = [
            ({"model": "direct/m"}, "messages"),
            (body(temperature=9), "temperature"),
            (body(n=3), "n"),
            ({"model": "direct/m", "messages": [{"role": "user", "content": "q"}] * 4}, "messages"),
            ({"model": "direct/m", "messages": [{"role": "assistant", "content": "q"}]}, "messages"),
            ([1, 2], None),
        ]
        for sent, param in cases:
            response = raw("POST", s.v1 + CHAT, sent)
            assert response.status == 400, (sent, response.content)
            assert error_of(response)["param"] == param
        assert s.upstream.requests == []


def test_a_body_over_the_limit_is_a_413(served: Any) -> None:
    with served(max_body_bytes=2048) as s:
        response = raw("POST", s.v1 + CHAT, body(padding="x" * 4096))
        assert response.status == 413 and error_of(response)["code"] == "body_too_large"


def test_api_keys_guard_every_route_but_health(served: Any) -> None:
    with served(api_keys=["key-one", "key-two"]) as s:
        assert raw("GET", s.url + "/health").status == 200
        for path in ("/v1/models", "/metrics"):
            assert raw("GET", s.url + path).status == 401
        assert raw("POST", s.v1 + CHAT, body()).status == 401
        assert raw("POST", s.v1 + CHAT, body(), headers={"Authorization": "Bearer nope"}).status == 401
        ok = raw("POST", s.v1 + CHAT, body(), headers={"Authorization": "Bearer key-two"})
        assert ok.status == 200
        assert raw("POST", s.v1 + CHAT, body(), headers={"x-api-key": "key-one"}).status == 200
        # the client's key never goes upstream
        assert set(s.upstream.authorizations) == {"Bearer sk-upstream"}


def test_an_upstream_429_passes_through_with_its_retry_after(served: Any) -> None:
    limited = FakeReply(status=429, headers={"Retry-After": "7"}, error_message="slow down")
    with served([limited]) as s:
        response = raw("POST", s.v1 + CHAT, body())  # a strategy run
        assert response.status == 429 and response.headers["retry-after"] == "7"
        assert "slow down" in error_of(response)["message"]
        passed = raw("POST", s.v1 + CHAT, body("fake-model"))  # passthrough: the upstream's own bytes
        assert passed.status == 429 and passed.headers["retry-after"] == "7"


def test_an_upstream_failure_is_a_502_with_its_message_and_a_timeout_a_504(served: Any) -> None:
    with served([FakeReply(status=500, error_message="engine on fire")]) as s:
        response = raw("POST", s.v1 + CHAT, body())
        assert response.status == 502 and "engine on fire" in error_of(response)["message"]
    with served([FakeReply("late", delay_s=2.0)], upstream_timeout_s=0.3) as s:
        response = raw("POST", s.v1 + CHAT, body())
        assert response.status == 504
        assert raw("POST", s.v1 + CHAT, body("fake-model")).status == 504


def test_an_unreachable_upstream_is_a_502(served: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with served(upstream=f"http://127.0.0.1:{port}/v1") as s:
        assert raw("POST", s.v1 + CHAT, body()).status == 502
        assert raw("POST", s.v1 + CHAT, body("fake-model")).status == 502


def test_the_sdk_sees_a_400_as_a_bad_request_and_does_not_retry(served: Any) -> None:
    with served() as s:
        client = openai.OpenAI(base_url=s.v1, api_key="k", max_retries=3)
        try:
            client.chat.completions.create(
                model="no_such[x=1]/m", messages=[{"role": "user", "content": "q"}]
            )
        except openai.BadRequestError:
            pass
        else:  # `no_such` is no strategy, so it is a plain model name: passed through
            pass
        started = time.perf_counter()
        try:
            client.chat.completions.create(
                model="self_refine[max_rounds=x]/m", messages=[{"role": "user", "content": "q"}]
            )
            raise AssertionError("expected a 400")
        except openai.BadRequestError as exc:
            assert "max_rounds" in exc.message
        assert time.perf_counter() - started < 2  # no backoff-and-retry of a request that cannot succeed


def test_one_requests_params_never_reach_another(served: Any) -> None:
    with served([FakeReply("18")]) as s:
        first = raw(
            "POST",
            s.v1 + CHAT,
            body("fake-model", redraft={"strategy": "self_consistency", "params": {"k": 2}}),
        )
        assert first.status == 200
        calls_first = len(s.upstream.requests)
        second = raw("POST", s.v1 + CHAT, body("self_consistency/fake-model"))
        assert second.status == 200
        n_second = sum(int(r.get("n") or 1) for r in s.upstream.requests[calls_first:])
        assert calls_first in (1, 2)
        assert n_second == 5  # the default k, not the first request's k=2


def test_per_request_budget_caps_a_strategy(served: Any) -> None:
    replies = [FakeReply("draft"), FakeReply("bad\nVERDICT: revise")]
    with served(replies, max_calls_per_request=3) as s:
        response = raw("POST", s.v1 + CHAT, body("self_refine[max_rounds=10]/fake-model"))
        assert response.status == 200
        assert len(s.upstream.requests) == 3
        assert response.json()["redraft"]["stop_reasons"] == ["budget"]


def test_health_metrics_and_openapi(served: Any) -> None:
    with served() as s:
        raw("POST", s.v1 + CHAT, body())
        raw("POST", s.v1 + CHAT, data=b"nope")
        metrics = raw("GET", s.url + "/metrics").content.decode()
        assert (
            'redraft_requests_total{mode="direct",route="/v1/chat/completions",status="200"} 1.0' in metrics
        )
        assert 'redraft_upstream_calls_total{outcome="ok",role="generator"} 1.0' in metrics
        assert 'redraft_errors_total{type="invalid_request_error"} 1.0' in metrics
        assert "redraft_request_seconds_bucket" in metrics
        document = raw("GET", s.url + "/openapi.json").json()
        assert {"/v1/chat/completions", "/v1/messages", "/v1/models"} <= set(document["paths"])


def test_no_store_content_keeps_facts_and_no_text(served: Any) -> None:
    with served([FakeReply("secret answer")], store_content=False) as s:
        response = raw(
            "POST",
            s.v1 + CHAT,
            {"model": "direct/fake-model", "messages": [{"role": "user", "content": "secret question"}]},
        )
        run = s.store().get_run(response.headers["x-redraft-run-id"])
        assert run.calls == 1 and run.completion_tokens == 2
        dump = json.dumps(run.model_dump())
        assert "secret" not in dump


def test_unknown_routes_and_methods_are_json_errors(served: Any) -> None:
    with served() as s:
        assert error_of(raw("GET", s.url + "/v1/nothing"))["type"] == "not_found_error"
        assert raw("GET", s.v1 + CHAT).status == 405


def test_stream_options_without_a_stream_are_refused(served: Any) -> None:
    with served() as s:
        body = {"model": "direct/fake-model", "messages": [{"role": "user", "content": "q"}],
                "stream_options": {"include_usage": True}}
        response = raw("POST", s.v1 + "/chat/completions", body)
        assert response.status == 400
        error = response.json()["error"]
        assert error["param"] == "stream_options" and "stream" in error["message"]
        assert s.upstream.requests == []
        streamed = raw("POST", s.v1 + "/chat/completions", body | {"stream": True})
        assert streamed.status == 200


def test_a_body_that_trickles_in_times_out_with_a_408(served: Any) -> None:
    with served(body_timeout_s=0.3) as s:
        host, port = s.url.split("//", 1)[1].split(":")
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"model\":")
            sock.settimeout(5)
            started = time.monotonic()
            received = sock.recv(65536)
            waited = time.monotonic() - started
        assert received.startswith(b"HTTP/1.1 408"), received[:200]
        assert b"body_timeout" in received
        assert waited < 4
        assert s.upstream.requests == []


def test_logprobs_on_a_strategy_run_are_refused_not_dropped(served: Any) -> None:
    with served() as s:
        body = {"model": "self_refine/fake-model", "messages": [{"role": "user", "content": "q"}],
                "logprobs": True, "top_logprobs": 2}
        response = raw("POST", s.v1 + "/chat/completions", body)
        assert response.status == 400 and response.json()["error"]["param"] == "logprobs"
        assert s.upstream.requests == []
        plain = raw("POST", s.v1 + "/chat/completions", body | {"model": "fake-model"})
        assert plain.status == 200  # passed through to the upstream as sent
        assert s.upstream.requests[-1]["logprobs"] is True

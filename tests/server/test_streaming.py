"""Streams: held for early failures, kept alive through hidden stages, errors in-band, cancellable."""

from __future__ import annotations

import http.client
import json
import time
import urllib.parse
from typing import Any

import openai

from redraft.testing import FakeReply
from tests.server.conftest import raw


def events(content: bytes) -> list[str]:
    return [block for block in content.decode().split("\n\n") if block]


def stream_body(model: str, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "q"}], "stream": True, **extra}


def test_a_failure_while_the_stream_is_held_gets_its_real_status(served: Any) -> None:
    with served([FakeReply(status=500, error_message="boom")]) as s:
        response = raw("POST", s.v1 + "/chat/completions", stream_body("self_refine/fake-model"))
        assert response.status == 502
        assert response.headers["content-type"].startswith("application/json")
        assert "boom" in response.json()["error"]["message"]


def test_hidden_stages_send_keepalives_then_a_late_failure_is_sent_in_band(served: Any) -> None:
    replies = [FakeReply("draft", delay_s=0.6), FakeReply(status=500, error_message="critic down")]
    with served(replies, stream_hold_s=0.1, keepalive_s=0.15) as s:
        response = raw("POST", s.v1 + "/chat/completions", stream_body("self_refine/fake-model"))
        assert response.status == 200
        blocks = events(response.content)
        comments = [b for b in blocks if b.startswith(":")]
        assert comments and comments[0].startswith(": redraft stage=")
        data = [json.loads(b[6:]) for b in blocks if b.startswith("data: {")]
        assert "critic down" in data[-1]["error"]["message"]
        assert blocks[-1] == "data: [DONE]"


def test_the_openai_client_reads_a_stream_with_keepalives(served: Any) -> None:
    replies = [FakeReply("draft", delay_s=0.4), FakeReply("fine\nVERDICT: correct", delay_s=0.4)]
    with served(replies, stream_hold_s=0.05, keepalive_s=0.1) as s:
        client = openai.OpenAI(base_url=s.v1, api_key="k", max_retries=0)
        with client.chat.completions.stream(model="self_refine/fake-model",
                                            messages=[{"role": "user", "content": "q"}]) as stream:
            final = stream.get_final_completion()
        assert final.choices[0].message.content == "draft"


def test_progress_events_show_each_stage(served: Any) -> None:
    replies = [FakeReply("draft"), FakeReply("fine\nVERDICT: correct")]
    with served(replies) as s:
        response = raw("POST", s.v1 + "/chat/completions",
                       stream_body("fake-model", redraft={"strategy": "self_refine", "progress": True}))
        chunks = [json.loads(b[6:]) for b in events(response.content) if b.startswith("data: {")]
        progress = [c["choices"][0]["delta"]["redraft"] for c in chunks
                    if c["choices"] and "redraft" in c["choices"][0]["delta"]]
        assert [p["role"] for p in progress] == ["generator", "critic"]
        assert progress[1]["text"].endswith("VERDICT: correct")


def test_a_client_that_hangs_up_cancels_the_run(served: Any) -> None:
    with served([FakeReply("slow", delay_s=3.0)]) as s:
        parts = urllib.parse.urlsplit(s.v1)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
        connection.request("POST", parts.path + "/chat/completions",
                           body=json.dumps(stream_body("self_refine/fake-model")),
                           headers={"Content-Type": "application/json"})
        deadline = time.time() + 3
        while not s.upstream.requests and time.time() < deadline:
            time.sleep(0.02)
        connection.close()  # the client goes away while the upstream call is in flight
        store = s.store()
        while time.time() < deadline:
            runs = store.list_runs()
            if runs and runs[0].status != "running":
                break
            time.sleep(0.05)
        assert runs[0].status == "interrupted"
        assert len(s.upstream.requests) == 1  # nothing after the hang-up

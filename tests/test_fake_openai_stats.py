"""The fake endpoint counts what it received, bodies recorded or not, and answers the counts over HTTP
(`GET /v1/fake/stats`): what bench/optillm.py reads to say how many upstream calls a proxy made."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from redraft.testing import FakeOpenAIServer, FakeReply, serve


def post(base_url: str, body: dict[str, Any]) -> int:
    request = urllib.request.Request(base_url + "/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def get_stats(base_url: str) -> dict[str, Any]:
    with urllib.request.urlopen(base_url + "/fake/stats", timeout=5) as response:
        return dict(json.loads(response.read()))


@pytest.mark.parametrize("honor_n", [True, False])
def test_stats_count_requests_by_n_choices_and_tokens_without_recording_bodies(honor_n: bool) -> None:
    """Two words of prompt per request, three of answer per choice; an endpoint that ignores `n`
    is still counted by the `n` it was asked, and sends one choice."""
    messages = [{"role": "user", "content": "six threes?"}]
    fake = FakeOpenAIServer(replies=[FakeReply("it is 18")], record=False, honor_n=honor_n)
    with serve(fake) as server:
        assert post(server.base_url, {"model": "m", "messages": messages, "n": 3}) == 200
        assert post(server.base_url, {"model": "m", "messages": messages}) == 200
        assert post(server.base_url, {"model": "m", "messages": messages, "n": 1}) == 200
        stats = get_stats(server.base_url)
    choices = 3 + 1 + 1 if honor_n else 3
    assert stats == {"chat_requests": 3, "requests_by_n": {"1": 2, "3": 1}, "choices_sent": choices,
                     "prompt_tokens": 6, "completion_tokens": 3 * choices, "models_requests": 0}
    assert fake.requests == []  # counted, not recorded


def test_a_fault_is_a_request_received_but_no_choice_or_token_sent() -> None:
    replies = [FakeReply(status=500), FakeReply("fine")]
    with serve(FakeOpenAIServer(replies=replies)) as server:
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "n": 2}
        assert post(server.base_url, body) == 500
        stats = get_stats(server.base_url)
    assert (stats["chat_requests"], stats["requests_by_n"]) == (1, {"2": 1})
    assert (stats["choices_sent"], stats["prompt_tokens"], stats["completion_tokens"]) == (0, 0, 0)

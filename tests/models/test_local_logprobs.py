"""The embedded model returns token logprobs when asked, from the logits it generated with (slow)."""

from __future__ import annotations

import asyncio

import pytest

from redraft.models.base import Completion, Message
from redraft.models.local import LocalModel

pytestmark = pytest.mark.slow

MESSAGES: list[Message] = [{"role": "user", "content": "What is 3 + 4? Answer with a number."}]


def complete(messages: list[Message], **sampling: object) -> Completion:
    return asyncio.run(LocalModel().complete(messages, temperature=0.0, max_tokens=12, **sampling))


def test_logprobs_come_back_for_exactly_the_reply() -> None:
    plain = complete(MESSAGES)
    result = complete(MESSAGES, logprobs=True, top_logprobs=3)
    assert plain.logprobs is None
    assert result.text == plain.text  # the logprob instance generates the same greedy reply
    assert result.logprobs and "".join(t.token for t in result.logprobs) == result.text
    for token in result.logprobs:
        assert token.logprob <= 0 and len(token.top_logprobs) == 3
        values = [a.logprob for a in token.top_logprobs]
        assert values == sorted(values, reverse=True) and token.logprob <= values[0] + 1e-9
    # greedy: the first token (before any repeat penalty applies) is the likeliest one
    assert result.logprobs[0].token == result.logprobs[0].top_logprobs[0].token


def test_a_continued_turn_gets_the_logprobs_of_its_continuation() -> None:
    prefill: list[Message] = [*MESSAGES, {"role": "assistant", "content": "3 + 4 = 7. Wait"}]
    result = complete(prefill, continue_final=True, logprobs=True)
    assert result.logprobs is not None and "".join(t.token for t in result.logprobs) == result.text
    assert all(t.top_logprobs == [] for t in result.logprobs)  # no alternatives asked

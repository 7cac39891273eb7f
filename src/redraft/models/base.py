"""The one contract every model implements, and the errors it may raise.

Everything that talks to an LLM goes through `Model.complete`, so retries,
concurrency limits, usage accounting and tracing live in one wrapper
(`redraft.models.managed`) and every strategy gets them for free.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Literal, Protocol, TypedDict, runtime_checkable

from pydantic import BaseModel

from redraft.errors import RedraftError


class Message(TypedDict):
    """A chat message in the OpenAI wire format."""

    role: Literal["system", "user", "assistant"]
    content: str


class Usage(BaseModel):
    """Token usage of one call, or a running total of many."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def total(cls, usages: Iterable[Usage]) -> Usage:
        total = cls()
        for usage in usages:
            total.add(usage)
        return total

    def add(self, other: Usage) -> None:
        self.calls += other.calls
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        self.latency_s += other.latency_s


class TopLogprob(BaseModel):
    """One of the likeliest tokens at a position (OpenAI's `top_logprobs` entry)."""

    token: str
    logprob: float
    bytes: list[int] | None = None


class TokenLogprob(BaseModel):
    """One generated token with its log-probability and the likeliest alternatives at its position
    (OpenAI's `logprobs.content` entry). `top_logprobs` holds as many as the call asked for."""

    token: str
    logprob: float
    bytes: list[int] | None = None
    top_logprobs: list[TopLogprob] = []


class Completion(BaseModel):
    """What one call returns: the text plus the facts a trace needs."""

    text: str
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    model: str = ""
    attempts: int = 1
    cached: bool = False
    #: An answer that calls tools (OpenAI's `tool_calls` entries, as sent): only a final stage
    #: offered `tools` can get one, and its `text` may then be empty.
    tool_calls: list[dict[str, Any]] | None = None
    #: Reasoning text an upstream returns beside the answer (`reasoning_content` / `reasoning`).
    reasoning: str | None = None
    #: The reply's tokens with their log-probabilities, when the call asked (`logprobs=True`,
    #: `top_logprobs=k` alternatives each); None when it did not. See `supports_logprobs`.
    logprobs: list[TokenLogprob] | None = None

    def usage(self) -> Usage:
        return Usage(
            calls=1,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            latency_s=self.latency_s,
        )


class ModelError(RedraftError, RuntimeError):
    """A call failed for good: bad request, unknown model, missing file, auth.

    `status` is the upstream's HTTP status when it answered with one, `timeout` says it did not
    answer in time, and `retry_after_s` is the wait it asked for: the server passes all three on
    (a 429 stays a 429 with its Retry-After, a timeout becomes a 504), instead of one opaque 502.
    """

    def __init__(self, message: str, *, status: int | None = None, timeout: bool = False,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.timeout = timeout
        self.retry_after_s = retry_after_s


class RetryableModelError(ModelError):
    """A call failed in a way worth retrying: 429, 5xx, timeout, connection error.

    `retry_after_s` is the wait the server asked for (`Retry-After`, `retry-after-ms`), which
    the retry loop honours, capped, instead of its own backoff.
    """

    def __init__(self, message: str, *, status: int | None = None, timeout: bool = False,
                 retry_after_s: float | None = None) -> None:
        super().__init__(message, status=status, timeout=timeout, retry_after_s=retry_after_s)


class MalformedResponse(RetryableModelError):
    """A 200 whose body is no completion (truncated or empty JSON, an HTML page, non-UTF-8,
    `choices: []`, `content: null`): retried once, as a glitch of a proxy or a restarting
    server would be, then reported naming the endpoint; never scored as an empty answer."""

    max_attempts = 2


@runtime_checkable
class Model(Protocol):
    """Anything that completes a chat.

    `name` identifies the model in traces; `endpoint` identifies where calls go,
    so that models on one server share one concurrency limit.
    """

    name: str
    endpoint: str

    async def complete(self, messages: list[Message], **sampling: Any) -> Completion:
        """Complete `messages`. Sampling keys: temperature, max_tokens, top_p, seed, stop.

        A model whose `supports_choices` attribute is true (see `supports_choices`) also
        takes `choices`: a list of strings, and its reply is exactly one of them. One whose
        `supports_logprobs` is true takes `logprobs` (bool) and `top_logprobs` (int, 0-20) and
        then returns `Completion.logprobs`.
        """
        ...


def supports_choices(model: object) -> bool:
    """Whether `model` can constrain a reply to one of given strings (the `choices` sampling key).

    A capability flag, not a promise every server keeps: the embedded model always can
    (a llama.cpp grammar); an endpoint only when the user says which form it takes, since
    a server that does not understand `response_format`/`guided_choice` may ignore it
    silently. Models without the attribute cannot, and get plain-text prompts only.
    """
    return bool(getattr(model, "supports_choices", False))


def choice_grammar(choices: list[str]) -> str:
    """A GBNF grammar whose only sentences are `choices` (for llama.cpp's constrained sampling)."""
    if not choices:
        raise ModelError("`choices` needs at least one string")
    return "root ::= " + " | ".join(json.dumps(c) for c in choices)


#: The most alternatives per token a call may ask for (OpenAI's limit; vLLM's default `max_logprobs`).
MAX_TOP_LOGPROBS = 20


def supports_logprobs(model: object) -> bool:
    """Whether `model` returns token logprobs when a call asks (`logprobs=True`).

    The embedded model always can; an OpenAI-compatible endpoint is taken at its word and checked
    on every reply (one that drops them is an error, see `ManagedModel`); models without the
    attribute cannot, and a strategy that reads logprobs refuses to run on them.
    """
    return bool(getattr(model, "supports_logprobs", False))


def wants_logprobs(sampling: dict[str, Any]) -> bool:
    """Whether a call's sampling asks for logprobs; `top_logprobs` alone is a mistake, as in OpenAI's API."""
    top = sampling.get("top_logprobs")
    if top is not None and not sampling.get("logprobs"):
        raise ModelError("top_logprobs needs logprobs=True")
    if top is not None and not (isinstance(top, int) and 0 <= top <= MAX_TOP_LOGPROBS):
        raise ModelError(f"top_logprobs must be an integer from 0 to {MAX_TOP_LOGPROBS}, not {top!r}")
    return bool(sampling.get("logprobs"))

"""The wrapper every call goes through: concurrency limit, retries, usage per role.

Kept apart from the models themselves (what a call is) and from the strategies
(what a method does), so scheduling policy lives in exactly one place.
"""

from __future__ import annotations

import asyncio
import random
import weakref
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

from redraft.models.base import (
    Completion,
    MalformedResponse,
    Message,
    Model,
    ModelError,
    RetryableModelError,
    Usage,
    supports_choices,
    supports_logprobs,
    wants_logprobs,
)
from redraft.models.cache import ResponseCache, cacheable, request_key

_limits: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


def endpoint_limit(endpoint: str, max_concurrency: int) -> asyncio.Semaphore:
    """One semaphore per endpoint per event loop: roles served by one server share it."""
    per_loop = _limits.setdefault(asyncio.get_running_loop(), {})
    if endpoint not in per_loop:
        per_loop[endpoint] = asyncio.Semaphore(max_concurrency)
    return per_loop[endpoint]


class ManagedModel:
    """Wraps a `Model` with a shared concurrency limit, retries and usage accounting."""

    def __init__(
        self,
        inner: Model,
        *,
        max_concurrency: int = 16,
        max_retries: int = 4,
        backoff_s: float = 1.0,
        max_backoff_s: float = 30.0,
        max_retry_after_s: float = 60.0,
        cache: ResponseCache | None = None,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.endpoint = inner.endpoint
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        #: The longest `Retry-After` honoured: a server asking for an hour gets this, then a retry.
        self.max_retry_after_s = max_retry_after_s
        self.cache = cache
        self.usage_by_role: dict[str, Usage] = defaultdict(Usage)

    @property
    def supports_choices(self) -> bool:
        """Whether the wrapped model takes the `choices` sampling key (see `models.base.supports_choices`)."""
        return supports_choices(self.inner)

    @property
    def supports_logprobs(self) -> bool:
        """Whether the wrapped model returns token logprobs (see `models.base.supports_logprobs`)."""
        return supports_logprobs(self.inner)

    @property
    def usage(self) -> Usage:
        return Usage.total(self.usage_by_role.values())

    async def complete(
        self, messages: list[Message], *, role: str = "generator", **sampling: Any
    ) -> Completion:
        [completion] = await self._cached(
            messages, sampling, lambda: _one(self.inner.complete(messages, **sampling)), role
        )
        return completion

    async def complete_many(
        self, messages: list[Message], n: int, *, role: str = "generator", **sampling: Any
    ) -> list[Completion]:
        """`n` samples: one request with `n` where the model supports it, else `n` concurrent calls.

        A server that ignores `n` (returns fewer choices) is remembered, and the
        missing samples are drawn with separate requests.
        """
        if n == 1:
            return [await self.complete(messages, role=role, **sampling)]
        native = getattr(self.inner, "complete_n", None)
        completions: list[Completion] = []
        if native is not None and getattr(self.inner, "supports_n", True):
            completions = await self._cached(
                messages, {**sampling, "n": n}, lambda: native(messages, n, **sampling), role
            )
            if len(completions) < n:
                self.inner.supports_n = False  # type: ignore[attr-defined]
        seed = sampling.get("seed")
        completions += await asyncio.gather(*(
            # With a fixed seed, separate requests would all draw the same sample: offset it.
            self.complete(messages, role=role, **{**sampling, "seed": None if seed is None else seed + i})
            for i in range(len(completions), n)
        ))
        return completions

    async def _cached(
        self,
        messages: list[Message],
        sampling: dict[str, Any],
        call: Callable[[], Awaitable[list[Completion]]],
        role: str,
    ) -> list[Completion]:
        asked = wants_logprobs(sampling)
        if asked and not self.supports_logprobs:
            raise ModelError(f"{self.name or self.endpoint} ({self.endpoint}) does not return token logprobs")
        if self.cache is None or not cacheable(sampling):
            return self._checked(await self._with_retries(call, role), asked)
        # What the model adds to every request (the embedded model's repeat penalty) is part
        # of the request: a changed default must not be answered from the old cache.
        defaults = getattr(self.inner, "sampling_defaults", {})
        key = request_key(self.endpoint, self.inner.name, messages, {**defaults, **sampling})
        hit = self.cache.get(key)
        if hit is not None:
            for completion in hit:
                self.usage_by_role[role].add(completion.usage())
            return hit
        completions = self._checked(await self._with_retries(call, role), asked)
        self.cache.put(key, completions)  # logprobs included: a hit answers a logprobs request in full
        return completions

    def _checked(self, completions: list[Completion], asked: bool) -> list[Completion]:
        """An answer without the logprobs its call asked for is an error, never a silent fallback:
        a selection by P(True) on an endpoint that drops them would otherwise rank by nothing."""
        if asked and any(c.logprobs is None for c in completions):
            raise ModelError(
                f"{self.endpoint} answered without the token logprobs the call asked for (logprobs=True): "
                f"the server ignores the option or does not support it for model {self.name!r}")
        return completions

    async def _with_retries(
        self, call: Callable[[], Awaitable[list[Completion]]], role: str
    ) -> list[Completion]:
        limit = endpoint_limit(self.endpoint, self.max_concurrency)
        attempt = malformed = 0
        while True:
            attempt += 1
            try:
                async with limit:
                    completions = await call()
            except RetryableModelError as exc:
                malformed += isinstance(exc, MalformedResponse)
                if self._exhausted(exc, attempt, malformed):
                    tries = f"{attempt} attempt" + ("s" if attempt > 1 else "")
                    raise ModelError(f"gave up after {tries}: {exc}", status=exc.status, timeout=exc.timeout,
                                     retry_after_s=exc.retry_after_s) from exc
                await asyncio.sleep(self._wait(exc, attempt))
                continue
            completions = [c.model_copy(update={"attempts": attempt}) for c in completions]
            for completion in completions:
                self.usage_by_role[role].add(completion.usage())
            return completions

    def _exhausted(self, exc: RetryableModelError, attempt: int, malformed: int) -> bool:
        """Out of retries; a malformed body is retried once only (a glitch, else a broken server)."""
        if isinstance(exc, MalformedResponse) and malformed >= exc.max_attempts:
            return True
        return attempt > self.max_retries

    def _wait(self, exc: RetryableModelError, attempt: int) -> float:
        """The server's `Retry-After` when it sent one (capped), else jittered backoff."""
        if exc.retry_after_s is not None:
            return min(exc.retry_after_s, self.max_retry_after_s)
        return self._backoff(attempt)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, so retrying clients do not stampede together."""
        ceiling = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    async def aclose(self) -> None:
        close = getattr(self.inner, "aclose", None)
        if close is not None:
            await close()


async def _one(call: Awaitable[Completion]) -> list[Completion]:
    return [await call]

"""The wrapper every call goes through: concurrency limit, retries, usage per role.

Kept apart from the models themselves (what a call is) and from the strategies
(what a method does), so scheduling policy lives in exactly one place.
"""

from __future__ import annotations

import asyncio
import random
import weakref
from collections import defaultdict
from typing import Any

from redraft.models.base import Completion, Message, Model, ModelError, RetryableModelError, Usage

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
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.endpoint = inner.endpoint
        self.max_concurrency = max_concurrency
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s
        self.usage_by_role: dict[str, Usage] = defaultdict(Usage)

    @property
    def usage(self) -> Usage:
        total = Usage()
        for usage in self.usage_by_role.values():
            total.add(usage)
        return total

    async def complete(
        self, messages: list[Message], *, role: str = "generator", **sampling: Any
    ) -> Completion:
        limit = endpoint_limit(self.endpoint, self.max_concurrency)
        attempt = 0
        while True:
            attempt += 1
            try:
                async with limit:
                    completion = await self.inner.complete(messages, **sampling)
            except RetryableModelError as exc:
                if attempt > self.max_retries:
                    tries = f"{attempt} attempt" + ("s" if attempt > 1 else "")
                    raise ModelError(f"gave up after {tries}: {exc}") from exc
                await asyncio.sleep(self._backoff(attempt))
                continue
            completion = completion.model_copy(update={"attempts": attempt})
            self.usage_by_role[role].add(completion.usage())
            return completion

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter, so retrying clients do not stampede together."""
        ceiling = min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1))
        return random.uniform(ceiling / 2, ceiling)

    async def aclose(self) -> None:
        close = getattr(self.inner, "aclose", None)
        if close is not None:
            await close()

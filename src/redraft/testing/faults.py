"""Fault injection for the fake endpoint: a share of requests fail the way real upstreams do.

`FaultInjector` wraps a `respond` function of `FakeOpenAIServer`. Whether a request fails, and
how, depends only on its body and on how many times that same body was seen before, never on
arrival order, so a concurrent run sees the same faults every time (deterministic, offline).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from redraft.testing.fake_openai import MALFORMED, FakeReply

Respond = Callable[[dict[str, Any]], FakeReply]


def fault_kinds(slow_s: float = 1.5, retry_after_s: float = 0.05) -> dict[str, FakeReply]:
    """Every fault a test can draw: rate limits with Retry-After, 5xx, a dropped connection, a
    reply slower than the client's timeout (`slow_s`), and each malformed 200 body."""
    ms = str(int(retry_after_s * 1000))
    kinds = {
        "429_retry_after": FakeReply(status=429, headers={"Retry-After": str(retry_after_s)},
                                     error_message="rate limited"),
        "429_retry_after_ms": FakeReply(status=429, headers={"retry-after-ms": ms},
                                        error_message="rate limited"),
        "500": FakeReply(status=500, error_message="internal error"),
        "503": FakeReply(status=503, error_message="overloaded"),
        "drop": FakeReply(drop=True),
        "slow": FakeReply("too late", delay_s=slow_s),
    }
    kinds.update({f"malformed_{name}": FakeReply(malformed=name) for name in MALFORMED})
    return kinds


@dataclass
class FaultInjector:
    """Answers with `respond`, except that about `rate` of the requests get a fault instead."""

    respond: Respond
    rate: float = 0.25
    seed: int = 0
    kinds: dict[str, FakeReply] = field(default_factory=fault_kinds)
    injected: Counter[str] = field(default_factory=Counter)
    answered: int = 0
    _seen: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, body: dict[str, Any]) -> FakeReply:
        key = json.dumps(body, sort_keys=True)
        with self._lock:
            self._seen[key] += 1
            draw = _unit(f"{self.seed}|{self._seen[key]}|{key}")
            if draw < self.rate:
                names = sorted(self.kinds)
                name = names[int(draw / self.rate * len(names)) % len(names)]
                self.injected[name] += 1
                return self.kinds[name]
            self.answered += 1
        return self.respond(body)


def _unit(text: str) -> float:
    """A deterministic number in [0, 1) from `text`."""
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16) / 16**12

"""`GET /metrics`: requests, upstream calls, tokens, latency and errors, in Prometheus text format.

One registry per server (not the process-global one), so two apps in one process (the tests)
count apart.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from redraft.trace import CallRecord

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "redraft_requests",
            "Requests served, by route, mode and status",
            ["route", "mode", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "redraft_request_seconds",
            "Request latency, by route and mode",
            ["route", "mode"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.calls = Counter(
            "redraft_upstream_calls",
            "Upstream calls, by role and outcome",
            ["role", "outcome"],
            registry=self.registry,
        )
        self.call_latency = Histogram(
            "redraft_upstream_call_seconds",
            "Upstream call latency, by role",
            ["role"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "redraft_tokens",
            "Upstream tokens, by role and kind (prompt, completion)",
            ["role", "kind"],
            registry=self.registry,
        )
        self.errors = Counter(
            "redraft_errors", "Failed requests, by error type", ["type"], registry=self.registry
        )

    def request(self, route: str, mode: str, status: int, seconds: float) -> None:
        self.requests.labels(route, mode, str(status)).inc()
        self.latency.labels(route, mode).observe(seconds)

    def upstream_call(self, call: CallRecord) -> None:
        self.calls.labels(call.role, "error" if call.error else "ok").inc()
        if call.error:
            return
        self.call_latency.labels(call.role).observe(call.latency_s)
        self.tokens.labels(call.role, "prompt").inc(call.prompt_tokens)
        self.tokens.labels(call.role, "completion").inc(call.completion_tokens)

    def error(self, kind: str) -> None:
        self.errors.labels(kind).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)

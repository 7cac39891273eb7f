"""What `redraft serve` is configured with: the upstream, the keys, the limits, the defaults."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from redraft.models.resolve import ModelConfig


class ServerConfig(BaseModel):
    """Every setting of one server; the CLI's flags are these fields."""

    #: The OpenAI-compatible endpoint requests go to; None serves the embedded model.
    upstream: str | None = None
    #: Sent upstream on every call; never taken from a client, never sent to one.
    upstream_api_key: str | None = None
    upstream_timeout_s: float = Field(120.0, gt=0)
    #: Retries of a strategy's hidden calls (a passthrough request is forwarded once: the
    #: client's SDK retries what it sees fail).
    upstream_retries: int = Field(2, ge=0)
    upstream_concurrency: int = Field(256, ge=1)
    #: Keys a client must present (`Authorization: Bearer KEY` or `x-api-key`); none: no auth.
    api_keys: list[str] = Field(default_factory=list)
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    #: The strategy of a request that names none; None passes such requests straight through.
    strategy: str | None = None
    #: Role bindings (`--role critic=MODEL[@URL]`), shared by every request.
    roles: dict[str, ModelConfig] = Field(default_factory=dict)
    max_body_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    #: A body not received in full within this many seconds is a 408 (aiohttp itself waits forever,
    #: so a client trickling its body would hold a connection).
    body_timeout_s: float = Field(30.0, gt=0)
    max_messages: int = Field(1000, ge=1)
    max_n: int = Field(8, ge=1)
    #: Per choice: one strategy run may make at most this many calls / spend this many tokens.
    max_calls_per_request: int | None = Field(64, ge=1)
    max_tokens_per_request: int | None = Field(None, ge=1)
    #: Specs that run model-written code in the sandbox (ProgCo's python checker, `@tests`,
    #: reflexion) are refused unless allowed: a client's prompt steers what that code does.
    allow_code_execution: bool = False
    #: How long a stream waits for the hidden stages before it commits to 200 (an early failure
    #: still gets its real status), and how often it then sends a keep-alive comment.
    stream_hold_s: float = Field(10.0, ge=0)
    keepalive_s: float = Field(5.0, gt=0)
    #: False stores each request's facts (roles, tokens, latency) but none of its text.
    store_content: bool = True
    store_path: Path | None = None
    #: Runs are committed in batches this often (0: every write at once, as `redraft run` does): a
    #: request's record reaches other readers (`redraft runs list`) within this many seconds.
    commit_interval_s: float = Field(0.1, ge=0)

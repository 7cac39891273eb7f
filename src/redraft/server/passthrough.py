"""A request that names no strategy goes to the upstream byte for byte, and comes back so.

Forwarded with one shared aiohttp session (the transport the openai SDK uses here, which keeps
up at hundreds of requests in flight), not through the SDK: parsing and re-serialising would
change the bytes, and this path has no strategy to serve. The client's key is never forwarded;
the upstream's is added. Each request is still a run in the store (strategy `passthrough`).
"""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp
from aiohttp import web

from redraft.models.base import Usage
from redraft.models.openai_compat import basic_auth
from redraft.redact import redact, register_secret, strip_credentials, url_credentials
from redraft.runs.outcome import Outcome
from redraft.runs.store import RunStore
from redraft.server.errors import ApiError
from redraft.tasks.base import Problem
from redraft.trace import CallRecord

#: Response headers worth passing back (rate limits, request ids); hop-by-hop ones never are.
KEPT_HEADERS = ("content-type", "retry-after", "retry-after-ms", "x-request-id", "openai-processing-ms")
KEPT_PREFIXES = ("x-ratelimit-",)


class Forwarder:
    """Forwards to the upstream; its URL's credentials travel as Basic auth (as the model layer
    sends them), never in a message; the upstream's key is masked in whatever comes back."""

    def __init__(self, upstream: str, api_key: str | None, timeout_s: float, *, concurrency: int) -> None:
        base = (strip_credentials(upstream) or upstream).rstrip("/")
        self.url = base + "/chat/completions"
        self.models_url = base + "/models"
        self.headers = {"Content-Type": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self.headers.update(basic_auth(upstream))  # a proxy login wins, as in the model layer
        self.secrets = [api_key, *url_credentials(upstream)]
        for secret in self.secrets:
            register_secret(secret)
        # A wait for bytes, not a bound on the whole exchange: a long stream is not cut.
        self.timeout = aiohttp.ClientTimeout(total=None, sock_connect=timeout_s, sock_read=timeout_s)
        self.concurrency = concurrency
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:  # built inside the running loop
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.concurrency),
                timeout=self.timeout,
                auto_decompress=False,
            )
        return self._session

    async def forward(
        self, request: web.Request, body: bytes, *, stream: bool
    ) -> tuple[web.StreamResponse, bytes]:
        """Send `body` upstream and answer with what comes back; returns the response and the body
        bytes it carried (for the record). A 200 is passed on byte for byte; an error body is
        masked (upstreams echo keys), and an upstream 401/403 (the server's own key) is a 502."""
        try:
            async with self.session().post(self.url, data=body, headers=self.headers) as upstream:
                headers = {
                    k: v
                    for k, v in upstream.headers.items()
                    if k.lower() in KEPT_HEADERS or k.lower().startswith(KEPT_PREFIXES)
                }
                if upstream.status in (401, 403):
                    data = await upstream.read()
                    raise ApiError(
                        502,
                        self._say(
                            f"the upstream refused the server's key (HTTP "
                            f"{upstream.status}): {data[:300].decode(errors='replace')}"
                        ),
                        code="upstream_auth",
                    )
                if not stream or upstream.status != 200:
                    data = await upstream.read()
                    if upstream.status != 200:
                        data = self._say(data.decode(errors="replace")).encode()
                    return web.Response(body=data, status=upstream.status, headers=headers), data
                response = web.StreamResponse(status=200, headers=headers)
                await response.prepare(request)
                return response, await self._relay(upstream, response)
        except TimeoutError as exc:
            raise ApiError(
                504, f"the upstream did not answer in time ({self.url})", code="upstream_timeout"
            ) from exc
        except aiohttp.ClientError as exc:
            raise ApiError(
                502, self._say(f"cannot reach the upstream {self.url}: {exc}"), code="upstream_error"
            ) from exc

    async def _relay(self, upstream: aiohttp.ClientResponse, response: web.StreamResponse) -> bytes:
        """Copy the upstream's stream as it comes; if it breaks, the client gets an in-band error
        event and `[DONE]` (the status line is long gone), never a second response in the body."""
        received = bytearray()
        try:
            async for piece in upstream.content.iter_any():
                received += piece
                await response.write(piece)
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = ApiError(
                502,
                self._say(f"the upstream's stream broke: {type(exc).__name__}: {exc}"),
                code="upstream_error",
            )
            tail = b"data: " + json.dumps(error.body()).encode() + b"\n\ndata: [DONE]\n\n"
            received += tail
            await response.write(tail)
        await response.write_eof()
        return bytes(received)

    def _say(self, text: str) -> str:
        return redact(text, self.secrets)

    async def models(self) -> list[dict[str, Any]]:
        try:
            async with self.session().get(self.models_url, headers=self.headers) as upstream:
                if upstream.status != 200:
                    raise ApiError(502, f"the upstream's model list answered HTTP {upstream.status}")
                data = await upstream.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ApiError(
                502, self._say(f"cannot read the upstream's models ({self.models_url}): {exc}")
            ) from exc
        listed = data.get("data") if isinstance(data, dict) else None
        return [m for m in listed or [] if isinstance(m, dict) and isinstance(m.get("id"), str)]

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def record(
    store: RunStore,
    request: dict[str, Any],
    data: bytes,
    *,
    stream: bool,
    status: int,
    started: float,
    error: str | None = None,
    interrupted: bool = False,
) -> str:
    """The forwarded exchange as a run: one call, its text and usage, read from the bytes. A
    request that failed (`error`, or a status other than 200) or that the client abandoned
    (`interrupted`) is a run too, marked so."""
    text, finish, usage, model = _read(data, stream=stream)
    problem = Problem(id="served", prompt=_last_user_text(request.get("messages")), metadata={"served": True})
    requested = str(request.get("model", ""))
    run_id = store.start_run(
        strategy={"name": "passthrough", "params": {}}, models={"generator": requested}, problem=problem
    )
    latency = time.perf_counter() - started
    if error is None and status != 200:
        error = f"HTTP {status}: {data[:300].decode(errors='replace')}"
    call = CallRecord(
        seq=1,
        role="generator",
        model=model or requested,
        messages=[_flat(m) for m in request.get("messages") or [] if isinstance(m, dict)],
        sampling={k: v for k, v in request.items() if k not in ("messages", "model")},
        text=text,
        finish_reason=finish,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        latency_s=latency,
        error="interrupted" if interrupted and error is None else error,
    )
    store.listener(run_id)(call)
    if interrupted:
        store.interrupt_run(run_id)
    elif error is not None:
        store.fail_run(run_id, redact(error))
    else:
        store.finish_run(
            run_id,
            Outcome(
                run_id=run_id,
                strategy="passthrough",
                strategy_params={},
                problem_id="served",
                answer=text or None,
                text=text,
                stop_reason="done",
                usage=Usage(
                    calls=1,
                    prompt_tokens=usage.prompt_tokens,
                    completion_tokens=usage.completion_tokens,
                    latency_s=latency,
                ),
                usage_by_role={"generator": usage},
                wall_s=latency,
            ),
        )
    return run_id


def _read(data: bytes, *, stream: bool) -> tuple[str, str | None, Usage, str]:
    """Text, finish reason, usage and model of a completion body or an SSE stream; what cannot be
    read stays empty (the bytes went to the client as they were either way)."""
    usage = Usage(calls=1)
    bodies: list[Any] = []
    try:
        if stream:
            for line in data.decode(errors="replace").splitlines():
                if line.startswith("data:") and line[5:].strip() not in ("", "[DONE]"):
                    bodies.append(json.loads(line[5:]))
        else:
            bodies.append(json.loads(data))
    except ValueError:
        return "", None, usage, ""
    text: list[str] = []
    finish: str | None = None
    model = ""
    for body in bodies:
        if not isinstance(body, dict):
            continue
        model = body.get("model") or model
        if isinstance(body.get("usage"), dict):
            usage.prompt_tokens = int(body["usage"].get("prompt_tokens") or 0)
            usage.completion_tokens = int(body["usage"].get("completion_tokens") or 0)
        for choice in body.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            part = choice.get("delta" if stream else "message") or {}
            text.append(str(part.get("content") or ""))
            finish = choice.get("finish_reason") or finish
    return "".join(text), finish, usage, str(model)


def _flat(message: dict[str, Any]) -> dict[str, str]:
    """A message as the trace keeps it: string values (parts and tool calls as their JSON)."""
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in message.items()}


def _last_user_text(messages: Any) -> str:
    for message in reversed(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""

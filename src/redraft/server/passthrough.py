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
from redraft.runs.outcome import Outcome
from redraft.runs.store import RunStore
from redraft.server.errors import ApiError
from redraft.tasks.base import Problem
from redraft.trace import CallRecord

#: Response headers worth passing back (rate limits, request ids); hop-by-hop ones never are.
KEPT_HEADERS = ("content-type", "retry-after", "retry-after-ms", "x-request-id", "openai-processing-ms")
KEPT_PREFIXES = ("x-ratelimit-",)


class Forwarder:
    def __init__(self, upstream: str, api_key: str | None, timeout_s: float) -> None:
        self.url = upstream.rstrip("/") + "/chat/completions"
        self.models_url = upstream.rstrip("/") + "/models"
        self.headers = {"Content-Type": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None:  # built inside the running loop
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0), timeout=self.timeout
            )
        return self._session

    async def forward(
        self, request: web.Request, body: bytes, *, stream: bool
    ) -> tuple[web.StreamResponse, bytes]:
        """Send `body` upstream and answer with what comes back; returns the response and the body
        bytes it carried (for the record)."""
        try:
            async with self.session().post(self.url, data=body, headers=self.headers) as upstream:
                headers = {
                    k: v
                    for k, v in upstream.headers.items()
                    if k.lower() in KEPT_HEADERS or k.lower().startswith(KEPT_PREFIXES)
                }
                if not stream or upstream.status != 200:
                    data = await upstream.read()
                    return web.Response(body=data, status=upstream.status, headers=headers), data
                response = web.StreamResponse(status=200, headers=headers)
                await response.prepare(request)
                received = bytearray()
                async for piece in upstream.content.iter_any():
                    received += piece
                    await response.write(piece)
                await response.write_eof()
                return response, bytes(received)
        except TimeoutError as exc:
            raise ApiError(
                504, f"the upstream did not answer in time ({self.url})", code="upstream_timeout"
            ) from exc
        except aiohttp.ClientError as exc:
            raise ApiError(
                502, f"cannot reach the upstream {self.url}: {exc}", code="upstream_error"
            ) from exc

    async def models(self) -> list[dict[str, Any]]:
        try:
            async with self.session().get(self.models_url, headers=self.headers) as upstream:
                if upstream.status != 200:
                    raise ApiError(502, f"the upstream's model list answered HTTP {upstream.status}")
                data = await upstream.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise ApiError(502, f"cannot read the upstream's models ({self.models_url}): {exc}") from exc
        listed = data.get("data") if isinstance(data, dict) else None
        return [m for m in listed or [] if isinstance(m, dict) and isinstance(m.get("id"), str)]

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def record(
    store: RunStore, request: dict[str, Any], data: bytes, *, stream: bool, status: int, started: float
) -> str:
    """The forwarded exchange as a run: one call, its text and usage, read from the bytes."""
    text, finish, usage, model = _read(data, stream=stream)
    problem = Problem(id="served", prompt=_last_user_text(request.get("messages")), metadata={"served": True})
    run_id = store.start_run(
        strategy={"name": "passthrough", "params": {}},
        models={"generator": str(request.get("model", ""))},
        problem=problem,
    )
    latency = time.perf_counter() - started
    call = CallRecord(
        seq=1,
        role="generator",
        model=model or str(request.get("model", "")),
        messages=[_flat(m) for m in request.get("messages") or [] if isinstance(m, dict)],
        sampling={k: v for k, v in request.items() if k not in ("messages", "model")},
        text=text,
        finish_reason=finish,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        latency_s=latency,
        error=None if status == 200 else f"HTTP {status}: {data[:300].decode(errors='replace')}",
    )
    store.listener(run_id)(call)
    if status != 200:
        store.fail_run(run_id, f"upstream HTTP {status}")
        return run_id
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

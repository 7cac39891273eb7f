"""Any OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server, LM Studio).

Uses the official SDK on its aiohttp transport, which keeps up at hundreds of
requests in flight where the default httpx transport does not. The SDK's own
retries are switched off: `ManagedModel` owns retries, so there is one policy
and every attempt is visible.
"""

from __future__ import annotations

import base64
import email.utils
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import openai
from openai import AsyncOpenAI, DefaultAioHttpClient

from redraft.models.base import (
    Completion,
    MalformedResponse,
    Message,
    ModelError,
    RetryableModelError,
    TokenLogprob,
)
from redraft.redact import redact, register_secret, register_url, strip_credentials, url_credentials

RETRYABLE_STATUS = {408, 409, 429}
#: What only a final stage gets (the server forwards a client's): tools and the answer's format.
ANSWER_KEYS = {"tools", "tool_choice", "parallel_tool_calls", "response_format"}
SAMPLING_KEYS = {"temperature", "max_tokens", "top_p", "seed", "stop", "n", "presence_penalty",
                 "frequency_penalty", "continue_final", "choices", "reasoning_effort", "on_delta",
                 "logprobs", "top_logprobs", *ANSWER_KEYS}
#: Receives each streamed delta (`content`, `reasoning_content`, `tool_calls` pieces) as it arrives.
OnDelta = Callable[[dict[str, Any]], Awaitable[None]]
#: How an endpoint constrains a reply to given strings: OpenAI's (and llama.cpp server's)
#: `response_format` JSON schema, or vLLM's `guided_choice`.
Constrained = Literal["json_schema", "guided_choice"]


class OpenAICompatibleModel:
    """A chat model served over the OpenAI chat-completions API."""

    def __init__(
        self,
        model: str | None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        constrained: Constrained | None = None,
    ) -> None:
        self.name = model or ""
        # Off unless the user says which form the server understands: a server that does
        # not know `response_format`/`guided_choice` may ignore it and answer free text.
        self.constrained = constrained
        self.base_url = base_url
        # What messages, traces and limits name: never the URL's credentials.
        self.endpoint = strip_credentials(base_url) or "https://api.openai.com/v1"
        # Local servers ignore the key but the SDK insists on one.
        self._api_key = api_key or "not-needed"
        register_secret(api_key)  # whatever an upstream echoes back, redraft never repeats it
        register_url(base_url)
        self._timeout_s = timeout_s
        self._client: AsyncOpenAI | None = None
        self.supports_n = True
        #: Takes `on_delta`: the final stage of a served request streams token by token.
        self.supports_stream = True
        #: Sends `logprobs`/`top_logprobs` (OpenAI, vLLM, llama.cpp server, Ollama take them); a
        #: reply without them is then an error (`ManagedModel`), so a server that drops them is found.
        self.supports_logprobs = True

    @property
    def supports_choices(self) -> bool:
        return self.constrained is not None

    def _get_client(self) -> AsyncOpenAI:
        # Created lazily: the aiohttp transport must be built inside a running loop.
        if self._client is None:
            self._client = AsyncOpenAI(
                base_url=strip_credentials(self.base_url),
                api_key=self._api_key,
                default_headers=basic_auth(self.base_url),
                max_retries=0,
                timeout=self._timeout_s,
                http_client=DefaultAioHttpClient(timeout=self._timeout_s),
            )
        return self._client

    async def complete(self, messages: list[Message], **sampling: Any) -> Completion:
        [completion] = await self._create(messages, sampling)
        return completion

    async def complete_n(self, messages: list[Message], n: int, **sampling: Any) -> list[Completion]:
        """`n` samples in one request. Prompt tokens are charged to the first sample,
        completion tokens split evenly: the API reports usage for the request only."""
        return await self._create(messages, {**sampling, "n": n})

    async def _create(self, messages: list[Message], sampling: dict[str, Any]) -> list[Completion]:
        unknown = set(sampling) - SAMPLING_KEYS
        if unknown:
            raise ModelError(f"unsupported sampling parameters: {sorted(unknown)}")
        params = {k: v for k, v in sampling.items() if v is not None}
        extra_body: dict[str, Any] = {}
        if params.pop("continue_final", False):
            # Continue the final assistant message instead of starting a new turn
            # (vLLM's names; llama.cpp server and Ollama continue a trailing assistant turn anyway).
            extra_body.update({"continue_final_message": True, "add_generation_prompt": False})
        choices = params.pop("choices", None)
        if choices is not None:
            extra_body.update(self._constrain(list(choices), params))
        if extra_body:
            params["extra_body"] = extra_body
        if not self.name:
            await self._discover_model()
        on_delta = params.pop("on_delta", None)
        if on_delta is not None:
            return [await self._stream(messages, params, on_delta)]
        started = time.perf_counter()
        try:
            # The raw body, read as plain JSON: the SDK's typed response costs ~1.5 ms of CPU per
            # call (most of a served request's overhead); the request goes as `extra_body` (see
            # `_as_extra_body`), past the SDK's per-field transform of the messages.
            raw = await self._get_client().chat.completions.with_raw_response.create(
                model=self.name, **_as_extra_body(messages, params)  # type: ignore[arg-type]
            )
            body = json.loads(raw.http_response.content)
        except openai.APIStatusError as exc:
            raise self._status_error(exc) from exc
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise RetryableModelError(self._say(f"{self.endpoint}: {_transport_error(exc)}"),
                                      timeout=_timed_out(exc)) from exc
        except (ValueError, openai.APIResponseValidationError) as exc:  # JSON, UTF-8, schema
            raise self._malformed(f"{type(exc).__name__}: {exc}") from exc
        latency = time.perf_counter() - started
        replies = self._choices(body)
        usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
        prompt_tokens = _count(usage.get("prompt_tokens"))
        completion_tokens = _count(usage.get("completion_tokens"))
        count = len(replies)
        return [
            Completion(
                text=_reply_text(message.get("content"), constrained=choices is not None),
                finish_reason=finish,
                prompt_tokens=prompt_tokens if i == 0 else 0,
                completion_tokens=completion_tokens // count + (completion_tokens % count if i == 0 else 0),
                latency_s=latency,
                model=body["model"] if isinstance(body.get("model"), str) and body["model"] else self.name,
                tool_calls=message.get("tool_calls") or None,
                reasoning=_reasoning(message),
                logprobs=self._logprobs(choice.get("logprobs")),
            )
            for i, (choice, message, finish) in enumerate(replies)
        ]

    async def _stream(self, messages: list[Message], params: dict[str, Any], on_delta: OnDelta) -> Completion:
        """One streamed call: each delta goes to `on_delta` as it arrives, the whole comes back.

        A failure before the first delta is an ordinary (retryable) call failure; after it, the
        client has tokens already, so it is final (a retry would send them twice).
        """
        started = time.perf_counter()
        text: list[str] = []
        reasoning: list[str] = []
        calls: dict[int, dict[str, Any]] = {}
        logprobs: list[TokenLogprob] | None = None
        finish_reason: str | None = None
        usage: Any = None
        model = self.name
        sent = 0
        try:
            stream = await self._get_client().chat.completions.create(  # type: ignore[call-overload]
                model=self.name, stream=True, stream_options={"include_usage": True},
                **_as_extra_body(messages, params),
            )
            async for chunk in stream:
                model = chunk.model or model
                usage = chunk.usage or usage
                for choice in chunk.choices[:1]:
                    delta = choice.delta.model_dump(exclude_none=True)
                    delta.pop("role", None)
                    finish_reason = choice.finish_reason or finish_reason
                    text.append(delta.get("content") or "")
                    reasoning.append(delta.get("reasoning_content") or delta.get("reasoning") or "")
                    for piece in delta.get("tool_calls") or []:
                        _merge_tool_call(calls, piece)
                    if choice.logprobs is not None and choice.logprobs.content is not None:
                        logprobs = [*(logprobs or []), *(self._logprobs(choice.logprobs.model_dump()) or [])]
                    if any(delta.get(k) for k in ("content", "reasoning_content", "reasoning", "tool_calls")):
                        sent += 1
                        await on_delta(delta)
        except openai.APIStatusError as exc:
            raise self._status_error(exc) from exc
        except (openai.APITimeoutError, openai.APIConnectionError, ValueError,
                openai.APIResponseValidationError) as exc:
            message = self._say(f"{self.endpoint}: the stream broke ({_transport_error(exc)})")
            if sent:
                raise ModelError(message + f" after {sent} deltas") from exc
            raise RetryableModelError(message, timeout=_timed_out(exc)) from exc
        return Completion(
            text="".join(text), finish_reason=finish_reason,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            latency_s=time.perf_counter() - started, model=model,
            tool_calls=[calls[i] for i in sorted(calls)] or None,
            reasoning="".join(reasoning) or None,
            logprobs=logprobs,
        )

    def _logprobs(self, value: Any) -> list[TokenLogprob] | None:
        """A choice's `logprobs.content` as token logprobs; None when it has none (not asked, or
        dropped: `ManagedModel` tells the two apart). A list that is no logprobs is malformed."""
        content = value.get("content") if isinstance(value, dict) else None
        if content is None:
            return None
        try:  # some servers send `top_logprobs: null` when none were asked
            return [TokenLogprob.model_validate({**entry, "top_logprobs": entry.get("top_logprobs") or []})
                    for entry in content]
        except (ValueError, TypeError, AttributeError) as exc:
            raise self._malformed(f"unreadable logprobs ({exc})") from exc

    def _constrain(self, choices: list[str], params: dict[str, Any]) -> dict[str, Any]:
        """Ask for one of `choices`: sets `response_format` in `params`, or returns the extra body."""
        if self.constrained is None:
            raise ModelError(
                f"{self.endpoint}: constrained replies are off for this endpoint; enable them "
                "with ModelConfig(constrained='json_schema'|'guided_choice') if the server supports them"
            )
        if not choices:
            raise ModelError("`choices` needs at least one string")
        if self.constrained == "guided_choice":
            return {"guided_choice": choices}
        params["response_format"] = {"type": "json_schema", "json_schema": {
            "name": "choice", "strict": True,
            "schema": {"type": "object", "properties": {"choice": {"type": "string", "enum": choices}},
                       "required": ["choice"], "additionalProperties": False},
        }}
        return {}

    async def _discover_model(self) -> None:
        """With no model named, use the endpoint's first (vLLM, llama.cpp and LM Studio serve one)."""
        models = await self.list_models()
        if not models:
            raise ModelError(f"{self.endpoint} serves no models; pass --model")
        self.name = models[0]

    async def list_models(self) -> list[str]:
        """The model ids the endpoint serves; lets `--base-url` work without `--model`. Fails as a
        call does (transient failures are retryable), so discovery inside a call is retried."""
        try:
            page = await self._get_client().models.list()
            return [m.id for m in page.data]
        except openai.APIStatusError as exc:
            raise self._status_error(exc) from exc
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            message = f"cannot reach {self.endpoint}: {_transport_error(exc)}"
            raise RetryableModelError(self._say(message)) from exc
        except (ValueError, AttributeError, TypeError, openai.APIResponseValidationError) as exc:
            raise self._malformed(f"model list unreadable ({type(exc).__name__}: {exc})") from exc

    def _choices(self, body: Any) -> list[tuple[dict[str, Any], dict[str, Any], str | None]]:
        """(choice, message, finish reason) of each choice in index order; a 200 that is no usable
        completion is malformed, never an empty answer."""
        if not isinstance(body, dict) or not isinstance(body.get("choices", []), list):
            raise self._malformed(f"the body is not a chat completion ({str(body)[:80]!r})")
        if not body.get("choices"):
            raise self._malformed(f"no choices for model {self.name!r}")
        replies = []
        for choice in sorted(body["choices"], key=lambda c: c.get("index", 0) if isinstance(c, dict) else 0):
            message = choice.get("message") if isinstance(choice, dict) else None
            if not isinstance(message, dict) or not (isinstance(message.get("content"), str)
                                                     or message.get("tool_calls")):
                raise self._malformed(f"a choice with null content for model {self.name!r}")
            finish = choice.get("finish_reason")
            replies.append((choice, message, finish if isinstance(finish, str) else None))
        return replies

    def _malformed(self, detail: str) -> MalformedResponse:
        return MalformedResponse(self._say(f"{self.endpoint} sent a malformed response: {detail}"))

    def _status_error(self, exc: openai.APIStatusError) -> ModelError:
        message = self._say(f"{self.endpoint} answered HTTP {exc.status_code}: {_error_text(exc)}")
        wait = retry_after(exc.response.headers)
        if exc.status_code in RETRYABLE_STATUS or exc.status_code >= 500:
            return RetryableModelError(message, status=exc.status_code, retry_after_s=wait)
        return ModelError(message, status=exc.status_code, retry_after_s=wait)

    def _say(self, message: str) -> str:
        """An error message without this model's key or URL credentials (upstreams echo them)."""
        return redact(message, [self._api_key, *url_credentials(self.base_url)])

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None


def _as_extra_body(messages: list[Message], params: dict[str, Any]) -> dict[str, Any]:
    """`create`'s keyword arguments with the messages and sampling in `extra_body`, which the SDK
    merges over its body as given (documented: extra values take precedence over the method's).

    The SDK walks every argument of `create` against its TypedDict annotations (`_transform`): about
    2 ms of CPU per call on a few rounds of chat history, three times the rest of a call's client
    cost, to return JSON-ready dicts unchanged (redraft's messages and sampling are plain JSON, with
    nothing to rename or encode). The body on the wire is the same; `messages=[]` only satisfies the
    signature and is replaced by the merge."""
    sampling = dict(params)
    extra = sampling.pop("extra_body", None) or {}
    return {"messages": [], "extra_body": {"messages": messages, **sampling, **extra}}


def _reasoning(message: dict[str, Any]) -> str | None:
    """`reasoning_content` (DeepSeek, vLLM) or `reasoning` (OpenRouter, Ollama): not in the SDK's type."""
    value = message.get("reasoning_content") or message.get("reasoning")
    return value if isinstance(value, str) and value else None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def _merge_tool_call(calls: dict[int, dict[str, Any]], piece: dict[str, Any]) -> None:
    """Accumulate one streamed tool-call delta: the id and name come once, arguments in pieces."""
    call = calls.setdefault(int(piece.get("index", len(calls))),
                            {"id": "", "type": "function", "function": {"name": "", "arguments": ""}})
    call["id"] = piece.get("id") or call["id"]
    function = piece.get("function") or {}
    call["function"]["name"] += function.get("name") or ""
    call["function"]["arguments"] += function.get("arguments") or ""


def _reply_text(content: str | None, *, constrained: bool) -> str:
    """The reply text; a constrained reply's `{"choice": ...}` unwrapped (a guided choice is bare)."""
    content = content or ""
    if not constrained:
        return content
    try:
        data = json.loads(content)
    except ValueError:
        return content
    if isinstance(data, dict) and isinstance(data.get("choice"), str):
        return data["choice"]
    return content


def basic_auth(base_url: str | None) -> dict[str, str]:
    """`http://user:pass@host` credentials as a Basic Authorization header (a proxy's login): the
    transport refuses credentials in a URL next to the SDK's bearer header, so they travel here."""
    if not base_url:
        return {}
    parts = urlsplit(base_url)
    if parts.username is None:
        return {}
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


MAX_HEADER_WAIT_S = 24 * 3600.0  # beyond a day a header is nonsense; the retry loop caps it lower


def retry_after(headers: Any) -> float | None:
    """The wait a 429/503 asks for: `retry-after-ms` (milliseconds), else `Retry-After` in seconds
    or as an HTTP date. None when absent or unreadable."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            return _bounded(float(raw_ms) / 1000)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return _bounded(float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return _bounded(when.timestamp() - time.time())


def _bounded(seconds: float) -> float | None:
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_HEADER_WAIT_S)


def _error_text(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and "message" in error:
            return str(error["message"])
        return str(error)
    return str(exc.message)


def _timed_out(exc: Exception) -> bool:
    """A real timeout, not a refused connection (which the SDK also reports as a timeout)."""
    cause: BaseException | None = exc
    for _ in range(10):
        if cause is None:
            break
        if isinstance(cause, ConnectionError) or "Connect call failed" in str(cause):
            return False
        cause = cause.__cause__ or cause.__context__
    return isinstance(exc, openai.APITimeoutError)


def _transport_error(exc: Exception) -> str:
    """The SDK reports a refused connection as a timeout; name what really happened."""
    causes = [exc]
    while causes[-1].__cause__ is not None and len(causes) < 10:
        causes.append(causes[-1].__cause__)  # type: ignore[arg-type]
    detail = next((str(c) for c in causes[1:] if str(c)), "")
    return f"{exc}" + (f" ({detail})" if detail else "")

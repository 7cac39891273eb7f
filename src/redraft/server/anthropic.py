"""The Anthropic Messages API, translated to and from OpenAI chat completions: pure functions, no HTTP.

The server's own currency is OpenAI chat-completions JSON, and its upstreams may speak only that,
so `POST /v1/messages` is a translation at both ends: `to_chat_request` on the way in,
`to_message` (or a `StreamTranslator` for SSE) on the way out, `error_body` for failures.

Choices where the two APIs do not line up:
- Several text blocks (in `system`, a message or a `tool_result`) join with a blank line:
  upstreams take plain string content best, and a blank line keeps the blocks apart.
- A `tool_result` becomes a `tool` message placed before the user's remaining text, as OpenAI
  wants every tool answer right after the assistant's calls; `is_error` prefixes `[tool error] `.
- `image` and `document` blocks are refused rather than silently dropped; `thinking`, `top_k`
  and `user_id` are dropped, since no OpenAI-compatible upstream has a faithful equivalent.
- Tool arguments that are not a JSON object come back as `{"_raw": "<the string>"}`: Anthropic's
  `input` must be an object, and the raw string keeps what the model wrote.
- An upstream that ends with `stop` while it made tool calls reports `tool_use`, which is what
  an Anthropic client loops on.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any, NoReturn

Event = tuple[str, dict[str, Any]]


class AnthropicRequestError(ValueError):
    """A request body the proxy refuses; `param` is the dotted path of the field at fault (400)."""

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


def _fail(param: str, problem: str) -> NoReturn:
    raise AnthropicRequestError(f"{param}: {problem}", param=param)


def _string(value: Any, param: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not value and not empty):
        _fail(param, "must be a string" if empty else "required, a non-empty string")
    return value


def _typed(value: Any, kind: Any, param: str, problem: str) -> Any:
    if value is not None and not isinstance(value, kind):
        _fail(param, problem)
    return value


def _number(value: Any, param: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        _fail(param, "must be a number")
    return value


def _text_of(value: Any, param: str) -> str:
    """A string, or a list of text blocks joined with a blank line (`system`, `tool_result`)."""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        _fail(param, "must be a string or a list of text blocks")
    parts = []
    for j, block in enumerate(value):
        kind = block.get("type") if isinstance(block, Mapping) else None
        if kind != "text":
            _fail(f"{param}.{j}.type", f"{kind!r} blocks are not supported here, only 'text'")
        parts.append(_string(block.get("text"), f"{param}.{j}.text", empty=True))
    return "\n\n".join(parts)


def _tool_call(block: Mapping[str, Any], at: str) -> dict[str, Any]:
    arguments = block.get("input", {})
    if not isinstance(arguments, Mapping):
        _fail(f"{at}.input", "must be an object")
    function = {"name": _string(block.get("name"), f"{at}.name"), "arguments": json.dumps(dict(arguments))}
    return {"id": _string(block.get("id"), f"{at}.id"), "type": "function", "function": function}


def _tool_message(block: Mapping[str, Any], at: str) -> dict[str, Any]:
    text = _text_of(block.get("content", ""), f"{at}.content")
    is_error = _typed(block.get("is_error"), bool, f"{at}.is_error", "must be a boolean")
    tool_call_id = _string(block.get("tool_use_id"), f"{at}.tool_use_id")
    content = f"[tool error] {text}" if is_error else text
    return {"role": "tool", "tool_call_id": tool_call_id, "content": content}


def _turn(message: Any, at: str) -> list[dict[str, Any]]:
    """One Anthropic message as OpenAI messages: tool results split out ahead of the user's text."""
    if not isinstance(message, Mapping):
        _fail(at, "each message must be an object")
    role = message.get("role")
    if role not in ("user", "assistant"):
        _fail(f"{at}.role", f"must be 'user' or 'assistant', got {role!r}")
    content = message.get("content")
    if isinstance(content, str):
        return [{"role": role, "content": content}]
    if not isinstance(content, list) or not content:
        _fail(f"{at}.content", "must be a string or a non-empty list of content blocks")
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for j, block in enumerate(content):
        where = f"{at}.content.{j}"
        kind = block.get("type") if isinstance(block, Mapping) else None
        if kind == "text":
            texts.append(_string(block.get("text"), f"{where}.text", empty=True))
        elif kind == "tool_use" and role == "assistant":
            calls.append(_tool_call(block, where))
        elif kind == "tool_result" and role == "user":
            results.append(_tool_message(block, where))
        elif kind in ("thinking", "redacted_thinking") and role == "assistant":
            continue  # a previous turn's reasoning: no OpenAI field carries it back
        else:
            _fail(f"{where}.type", f"{kind!r} content blocks are not supported in {role} messages")
    text = "\n\n".join(texts)
    if role == "assistant":
        return [
            {"role": "assistant", "content": text or None, "tool_calls": calls}
            if calls
            else {"role": "assistant", "content": text}
        ]
    return results + ([{"role": "user", "content": text}] if texts else [])


def _tool(tool: Any, at: str) -> dict[str, Any]:
    if not isinstance(tool, Mapping):
        _fail(at, "each tool must be an object")
    if tool.get("type") not in (None, "custom"):
        _fail(f"{at}.type", f"server tool {tool.get('type')!r} is not supported")
    schema = tool.get("input_schema")
    if not isinstance(schema, Mapping):
        _fail(f"{at}.input_schema", "required, a JSON Schema object")
    function: dict[str, Any] = {"name": _string(tool.get("name"), f"{at}.name"), "parameters": dict(schema)}
    if tool.get("description") is not None:
        function["description"] = _string(tool["description"], f"{at}.description", empty=True)
    return {"type": "function", "function": function}


_CHOICES = {"auto": "auto", "any": "required", "none": "none"}


def _tool_choice(choice: Any) -> Any:
    kind = choice.get("type") if isinstance(choice, Mapping) else None
    if kind == "tool":
        return {"type": "function", "function": {"name": _string(choice.get("name"), "tool_choice.name")}}
    if kind not in _CHOICES:
        _fail("tool_choice.type", "must be one of 'auto', 'any', 'tool', 'none'")
    return _CHOICES[kind]


def to_chat_request(body: Mapping[str, Any]) -> dict[str, Any]:
    """An Anthropic Messages request body as an OpenAI chat.completions one; refuses what it can't carry."""
    if not isinstance(body, Mapping):
        raise AnthropicRequestError("the request body must be a JSON object")
    model = _string(body.get("model"), "model")
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        _fail("max_tokens", "required, a positive integer")
    messages: list[dict[str, Any]] = []
    if body.get("system") is not None:
        messages.append({"role": "system", "content": _text_of(body["system"], "system")})
    turns = body.get("messages")
    if not isinstance(turns, list) or not turns:
        _fail("messages", "required, a non-empty list")
    for i, turn in enumerate(turns):
        messages.extend(_turn(turn, f"messages.{i}"))
    chat: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "messages": messages}
    for key in ("temperature", "top_p"):
        if body.get(key) is not None:
            chat[key] = _number(body[key], key)
    stops = _typed(body.get("stop_sequences"), list, "stop_sequences", "must be a list of strings") or []
    if not all(isinstance(stop, str) and stop for stop in stops):
        _fail("stop_sequences", "must be a list of non-empty strings")
    if stops:
        chat["stop"] = list(stops)
    if _typed(body.get("stream"), bool, "stream", "must be a boolean"):
        # usage comes in a last chunk only when asked for, and `message_delta` needs it
        chat.update(stream=True, stream_options={"include_usage": True})
    tools = _typed(body.get("tools"), list, "tools", "must be a list") or []
    if tools:
        chat["tools"] = [_tool(tool, f"tools.{i}") for i, tool in enumerate(tools)]
    if body.get("tool_choice") is not None:
        chat["tool_choice"] = _tool_choice(body["tool_choice"])
        if body["tool_choice"].get("disable_parallel_tool_use") is True and tools:
            chat["parallel_tool_calls"] = False
    metadata = _typed(body.get("metadata"), Mapping, "metadata", "must be an object") or {}
    redraft = _typed(metadata.get("redraft"), Mapping, "metadata.redraft", "must be an object")
    if redraft is not None:  # strategy, params, feedback: what the chat route reads
        chat["redraft"] = dict(redraft)
    return chat


def _tool_id() -> str:
    return f"toolu_{uuid.uuid4().hex[:24]}"


def _message_id(value: Any) -> str:
    if isinstance(value, str) and value:
        return value if value.startswith("msg_") else f"msg_{value}"
    return f"msg_{uuid.uuid4().hex}"


_STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def stop_reason(finish_reason: Any, *, tool_use: bool = False, stop_sequence: str | None = None) -> str:
    """OpenAI's `finish_reason` as Anthropic's `stop_reason`; the caller says which stop sequence hit."""
    if finish_reason in ("stop", None) and stop_sequence is not None:
        return "stop_sequence"
    if finish_reason in ("stop", None) and tool_use:
        return "tool_use"
    return _STOP_REASONS.get(finish_reason, "end_turn")


def _tool_input(arguments: Any) -> dict[str, Any]:
    if isinstance(arguments, Mapping):
        return dict(arguments)
    if not isinstance(arguments, str) or not arguments.strip():
        return {}
    try:
        parsed = json.loads(arguments)
    except ValueError:
        parsed = None
    return parsed if isinstance(parsed, dict) else {"_raw": arguments}


def _count(usage: Any, key: str) -> int:
    value = usage.get(key) if isinstance(usage, Mapping) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _message(
    id_: str,
    model: str,
    content: list[dict[str, Any]],
    stop_reason: str | None,
    stop_sequence: str | None,
    input_tokens: int,
    output_tokens: int,
) -> dict[str, Any]:
    return {
        "id": id_,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def to_message(
    completion: Mapping[str, Any], *, model: str, stop_sequence: str | None = None
) -> dict[str, Any]:
    """An OpenAI `chat.completion` (first choice only) as an Anthropic `message`, `model` as requested."""
    choices = completion.get("choices") or [{}]
    choice, message = choices[0], choices[0].get("message") or {}
    text = message.get("content")
    if isinstance(text, list):  # some upstreams answer with content parts
        text = "".join(p.get("text", "") for p in text if isinstance(p, Mapping))
    text = text or message.get("refusal")
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if isinstance(text, str) and text else []
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        content.append(
            {
                "type": "tool_use",
                "id": call.get("id") or _tool_id(),
                "name": function.get("name") or "",
                "input": _tool_input(function.get("arguments")),
            }
        )
    tool_use = any(block["type"] == "tool_use" for block in content)
    reason = stop_reason(choice.get("finish_reason"), tool_use=tool_use, stop_sequence=stop_sequence)
    usage = completion.get("usage")
    return _message(
        _message_id(completion.get("id")),
        model,
        content,
        reason,
        stop_sequence if reason == "stop_sequence" else None,
        _count(usage, "prompt_tokens"),
        _count(usage, "completion_tokens"),
    )


class StreamTranslator:
    """OpenAI `chat.completion.chunk`s in, Anthropic SSE events out, one chunk at a time.

    Anthropic blocks are strictly sequential (one open at a time, never reopened), so a text
    delta or a new tool call closes the open block. Upstreams stream parallel tool calls one after
    another; a fragment for a call whose block is already closed cannot be sent and is dropped.
    Token counts come from the final usage chunk (`include_usage`); without one, `output_tokens`
    counts the content deltas, which upstreams send about one token each.
    """

    def __init__(self, model: str, message_id: str | None = None, *, input_tokens: int = 0) -> None:
        self.model = model
        self.message_id = message_id
        self.input_tokens = input_tokens
        self._output_tokens: int | None = None
        self._deltas = 0
        self._started = self._done = self._tool_used = False
        self._next = 0  # the index the next block gets
        self._open: Any = None  # "text", the OpenAI index of the open tool call, or None
        self._tools: dict[Any, dict[str, Any]] = {}
        self._finish_reason: str | None = None

    @property
    def output_tokens(self) -> int:
        return self._output_tokens if self._output_tokens is not None else self._deltas

    def feed(self, chunk: Mapping[str, Any]) -> list[Event]:
        if self._done:
            return []
        usage = chunk.get("usage")
        if isinstance(usage, Mapping):
            self.input_tokens = _count(usage, "prompt_tokens") or self.input_tokens
            self._output_tokens = _count(usage, "completion_tokens")
        events = [] if self._started else [self._start(chunk)]
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if isinstance(delta.get("content"), str) and delta["content"]:
                events += self._text(delta["content"])
            for call in delta.get("tool_calls") or []:
                events += self._tool_call(call)
            self._finish_reason = choice.get("finish_reason") or self._finish_reason
        return events

    def finish(self, finish_reason: str | None = None, *, stop_sequence: str | None = None) -> list[Event]:
        """Close the open block and end the message; `finish_reason` overrides the upstream's."""
        if self._done:
            return []
        events = ([] if self._started else [self._start({})]) + self._close()
        self._done = True
        reason = stop_reason(
            finish_reason or self._finish_reason, tool_use=self._tool_used, stop_sequence=stop_sequence
        )
        delta = {"stop_reason": reason, "stop_sequence": stop_sequence if reason == "stop_sequence" else None}
        usage = {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens}
        events.append(("message_delta", {"type": "message_delta", "delta": delta, "usage": usage}))
        return [*events, ("message_stop", {"type": "message_stop"})]

    @staticmethod
    def ping() -> Event:
        return "ping", {"type": "ping"}

    @staticmethod
    def error_event(status: int, message: str) -> Event:
        """A failure after the stream began: the status can no longer change, so it goes in the body."""
        return "error", error_body(status, message)

    def _start(self, chunk: Mapping[str, Any]) -> Event:
        self._started = True
        self.message_id = _message_id(self.message_id or chunk.get("id"))
        message = _message(self.message_id, self.model, [], None, None, self.input_tokens, 0)
        return "message_start", {"type": "message_start", "message": message}

    def _close(self) -> list[Event]:
        if self._open is None:
            return []
        self._open = None
        return [("content_block_stop", {"type": "content_block_stop", "index": self._next - 1})]

    def _begin(self, key: Any, block: dict[str, Any]) -> list[Event]:
        events = self._close()
        self._open, self._next = key, self._next + 1
        data = {"type": "content_block_start", "index": self._next - 1, "content_block": block}
        return [*events, ("content_block_start", data)]

    def _delta(self, delta: dict[str, Any]) -> Event:
        self._deltas += 1
        return "content_block_delta", {"type": "content_block_delta", "index": self._next - 1, "delta": delta}

    def _text(self, text: str) -> list[Event]:
        events = [] if self._open == "text" else self._begin("text", {"type": "text", "text": ""})
        return [*events, self._delta({"type": "text_delta", "text": text})]

    def _tool_call(self, call: Mapping[str, Any]) -> list[Event]:
        """A tool call's block opens once its name is known; arguments before that wait for it."""
        key = call.get("index", 0)
        state = self._tools.setdefault(key, {"id": None, "name": None, "args": "", "begun": False})
        function = call.get("function") or {}
        state["id"] = state["id"] or call.get("id")
        state["name"] = state["name"] or function.get("name")
        if isinstance(function.get("arguments"), str):
            state["args"] += function["arguments"]
        events: list[Event] = []
        if not state["begun"] and state["name"]:
            state["begun"] = self._tool_used = True
            block = {"type": "tool_use", "id": state["id"] or _tool_id(), "name": state["name"], "input": {}}
            events += self._begin(key, block)
        if self._open == key and state["args"]:
            events.append(self._delta({"type": "input_json_delta", "partial_json": state["args"]}))
        if state["begun"]:
            state["args"] = ""
        return events


_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_type(status: int) -> str:
    """Anthropic's error type for an HTTP status: other 4xx are invalid requests, other 5xx `api_error`."""
    return _ERROR_TYPES.get(status) or ("api_error" if status >= 500 else "invalid_request_error")


def error_body(status: int, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type(status), "message": message}}


def sse(event: str, data: Mapping[str, Any]) -> bytes:
    """One named server-sent event, as Anthropic's stream frames them."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()

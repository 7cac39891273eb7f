"""A chat request as a strategy run: the conversation, the problem, the sampling, the final stage.

The whole conversation reaches the strategy: every turn before the last user turn is sent ahead
of each of its calls, and the last user turn is the problem. The client's sampling applies to
every stage unless the strategy documents its own (a sampler's temperature); `response_format`
goes to the calls whose text may become the answer, `tools` only to a strategy's final call
(see `redraft.context.FinalStage`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from redraft.context import Budget
from redraft.errors import RedraftError
from redraft.server.errors import ApiError
from redraft.server.schema import ChatRequest
from redraft.server.selection import Selection
from redraft.strategies.base import Strategy
from redraft.strategies.registry import build_strategy
from redraft.tasks.base import Problem

#: Request fields that become every stage's sampling (`max_completion_tokens` is `max_tokens`).
SAMPLING_FIELDS = (
    "temperature",
    "top_p",
    "seed",
    "stop",
    "max_tokens",
    "presence_penalty",
    "frequency_penalty",
    "reasoning_effort",
)
TOOL_FIELDS = ("tools", "tool_choice", "parallel_tool_calls")
#: Fields a strategy run reads in some other way (or that only shape the response).
HANDLED = {
    "model",
    "messages",
    "n",
    "stream",
    "stream_options",
    "max_completion_tokens",
    "response_format",
    "redraft",
    *SAMPLING_FIELDS,
    *TOOL_FIELDS,
}


@dataclass
class ChatJob:
    """One request, ready to run `n` times."""

    request: ChatRequest
    selection: Selection
    strategy: Strategy
    problem: Problem
    conversation: list[dict[str, Any]]
    #: Turns after the last user turn (a tool call and its result, an assistant prefill): they
    #: follow the problem in the first drafts, so `direct` continues a tool loop as sent.
    trailing: list[dict[str, Any]]
    sampling: dict[str, Any]
    answer: dict[str, Any]
    tools: dict[str, Any]
    budget: Budget
    #: Fields the client sent that this run does not apply (reported in the metadata).
    ignored: list[str] = field(default_factory=list)

    @property
    def spec(self) -> str:
        return self.selection.strategy or "direct"


#: Keywords of `build_strategy` itself: a request's parameters may not set them (a `task` would
#: unlock oracle feedback sources, which read a reference a served request does not have).
RESERVED_PARAMS = {"task", "feedback", "strategy"}


def prepare(
    request: ChatRequest, selection: Selection, budget: Budget, *, allow_code_execution: bool = False
) -> ChatJob:
    """Check the request and build its strategy; anything wrong is a 400 naming the field."""
    spec = selection.strategy or "direct"
    reserved = sorted(RESERVED_PARAMS & set(selection.params))
    if reserved:
        raise ApiError(400, f"`redraft.params` may not set {', '.join(reserved)}", param="redraft.params")
    try:
        strategy = build_strategy(spec, selection.feedback, **selection.params)
        strategy.require_calibrated()  # a request has no dataset to measure it over
    except (RedraftError, ValueError, TypeError) as exc:
        raise ApiError(
            400, f"strategy {spec!r}: {exc}", param="redraft.strategy", code="bad_strategy"
        ) from exc
    if strategy.executes_code and not allow_code_execution:
        raise ApiError(
            403,
            f"strategy {spec!r} runs model-written code, which this server does not allow "
            "(its operator can start it with --allow-code-execution)",
            param="redraft.strategy",
            code="code_execution_disabled",
        )
    messages = [m.model_dump(exclude_none=True) for m in request.messages]
    last_user = max((i for i, m in enumerate(messages) if m["role"] == "user"), default=None)
    if last_user is None:
        raise ApiError(
            400, "a strategy answers the last user turn, and the conversation has none", param="messages"
        )
    problem = Problem(
        id="served", prompt=text_of(messages[last_user].get("content")), metadata={"served": True}
    )
    sampling = {k: getattr(request, k) for k in SAMPLING_FIELDS if getattr(request, k) is not None}
    if request.max_completion_tokens is not None:
        sampling["max_tokens"] = request.max_completion_tokens
    answer = {"response_format": request.response_format} if request.response_format else {}
    check_schema(request.response_format)
    tools = {k: getattr(request, k) for k in TOOL_FIELDS if getattr(request, k) is not None}
    extra = sorted(set(request.model_extra or {}) - HANDLED)
    asked = request.model_extra or {}
    if asked.get("logprobs") or asked.get("top_logprobs"):
        # Ignoring it would answer `"logprobs": null`, a silent drop a client cannot tell apart.
        raise ApiError(
            400,
            f"strategy {spec!r}: `logprobs` describe one completion, and a strategy's answer comes "
            "from several calls; ask a plain model name (passed through) for logprobs",
            param="logprobs",
        )
    return ChatJob(
        request=request,
        selection=selection,
        strategy=strategy,
        problem=problem,
        conversation=messages[:last_user],
        trailing=messages[last_user + 1 :],
        sampling=sampling,
        answer=answer,
        tools=tools,
        budget=share(budget, request.n),
        ignored=extra,
    )


def share(budget: Budget, n: int) -> Budget:
    """Each of `n` choices' share of a per-request budget, so the request as a whole keeps to it."""
    if n > 1 and budget.max_calls is not None and n > budget.max_calls:
        raise ApiError(
            400,
            f"n={n} choices need at least {n} calls; this server allows {budget.max_calls} per request",
            param="n",
        )
    return Budget(
        max_calls=None if budget.max_calls is None else budget.max_calls // n,
        max_tokens=None if budget.max_tokens is None else max(1, budget.max_tokens // n),
    )


def check_schema(response_format: dict[str, Any] | None) -> None:
    """A `json_schema` that is no JSON schema is refused before anything is spent."""
    schema = ((response_format or {}).get("json_schema") or {}).get("schema")
    if not isinstance(schema, dict):
        return
    import jsonschema

    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise ApiError(
            400,
            f"response_format's schema is not a valid JSON schema: {exc.message}",
            param="response_format",
        ) from exc


def text_of(content: Any) -> str:
    """A message's text: the string, or its text parts joined; other parts are refused."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    texts = []
    for part in content:
        if part.get("type") != "text" or not isinstance(part.get("text"), str):
            raise ApiError(
                400,
                f"a strategy reads text; the last user turn has a {part.get('type')!r} part "
                "(send it with a plain model name to pass it through)",
                param="messages",
            )
        texts.append(part["text"])
    return "\n".join(texts)


def check_format(text: str, response_format: dict[str, Any] | None) -> None:
    """The final text must be what `response_format` asked for; a 502 says how it is not."""
    if not response_format or response_format.get("type") not in ("json_object", "json_schema"):
        return
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ApiError(
            502,
            f"the strategy's final answer is not JSON, as response_format asks: {exc}",
            code="invalid_final_output",
        ) from exc
    if response_format["type"] == "json_object":
        if not isinstance(value, dict):
            raise ApiError(
                502,
                "the strategy's final answer is not a JSON object, as response_format asks",
                code="invalid_final_output",
            )
        return
    schema = (response_format.get("json_schema") or {}).get("schema")
    if schema is None:
        return
    import jsonschema

    try:
        jsonschema.validate(value, schema)
    except jsonschema.ValidationError as exc:  # the schema itself was checked by `prepare`
        raise ApiError(
            502,
            f"the strategy's final answer does not match the response_format schema: {exc.message}",
            code="invalid_final_output",
        ) from exc

"""An Inspect `Model` as a redraft `Model` (the `[inspect]` extra), and chats between the two.

A strategy run inside Inspect (a `redraft/...` solver, the `redraft/SPEC:MODEL` provider) talks to
its models through `InspectModel`: every call is an Inspect `Model.generate`, so Inspect's own
retries, connection limits, cache and token limits apply, and Inspect logs each call as a model
event under its role (the Inspect model of each role is labelled with the redraft role it serves,
see `inspect_solvers.role_models`). Nothing is retried here: an error of Inspect's (a limit, a
provider failure after its retries) propagates as Inspect raised it, so Inspect ends the sample.

Usage is always set: Inspect's own counts (all input tokens, cached or not, are prompt tokens);
for a provider that reports none, redraft's conservative character estimate, never Inspect's
token counter, which fetches a tiktoken encoding at run time and fails offline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageUser,
    GenerateConfig,
    ModelOutput,
    ModelUsage,
)
from inspect_ai.model import Model as InspectAIModel

from redraft.budget import CHARS_PER_TOKEN, estimate_prompt_tokens
from redraft.errors import UsageError
from redraft.models.base import Completion, Message, ModelError

#: redraft's sampling keys and the `GenerateConfig` fields they are sent as.
SAMPLING_FIELDS = {
    "temperature": "temperature",
    "max_tokens": "max_tokens",
    "top_p": "top_p",
    "seed": "seed",
    "stop": "stop_seqs",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
    "reasoning_effort": "reasoning_effort",
}
#: Inspect's stop reasons as redraft's finish reasons ("length" is what counts a call as truncated).
FINISH_REASONS = {"max_tokens": "length", "model_length": "length", "unknown": None}


class InspectModel:
    """Completes redraft chats with an Inspect model: one `generate` per call, logged by Inspect."""

    supports_choices = False

    def __init__(self, model: InspectAIModel) -> None:
        self.model = model
        self.name = str(model)
        #: Inspect limits connections per model itself; redraft's per-endpoint limit only groups.
        self.endpoint = f"inspect:{model}"

    async def complete(self, messages: list[Message], **sampling: Any) -> Completion:
        output = await self.model.generate(chat_messages(messages), config=generate_config(sampling))
        return completion_of(output, messages)


def generate_config(sampling: Mapping[str, Any]) -> GenerateConfig:
    """redraft's sampling for one call as Inspect's `GenerateConfig`; a key Inspect has no field for
    is an error (sent nowhere silently)."""
    unknown = sorted(set(sampling) - set(SAMPLING_FIELDS))
    if unknown:
        raise ModelError(
            f"an Inspect model takes no sampling parameter {', '.join(unknown)} "
            f"(it takes {', '.join(SAMPLING_FIELDS)})"
        )
    fields: dict[str, Any] = {}
    for key, value in sampling.items():
        if value is None:
            continue
        if key == "stop":
            value = [value] if isinstance(value, str) else list(value)
        fields[SAMPLING_FIELDS[key]] = value
    return GenerateConfig(**fields)


def sampling_of(config: GenerateConfig) -> dict[str, Any]:
    """The inverse of `generate_config`: the sampling an Inspect config asks every call for."""
    sampling = {}
    for key, field in SAMPLING_FIELDS.items():
        value = getattr(config, field)
        if value is not None:
            sampling[key] = value
    return sampling


def chat_messages(messages: list[Message] | list[dict[str, Any]]) -> list[ChatMessage]:
    """redraft's OpenAI-style chat as Inspect messages (text turns only)."""
    converted: list[ChatMessage] = []
    for message in messages:
        role, content = message["role"], message.get("content")
        if not isinstance(content, str):
            raise UsageError(f"a {role} turn without text content cannot be sent to an Inspect model")
        if role == "system":
            converted.append(ChatMessageSystem(content=content))
        elif role == "user":
            converted.append(ChatMessageUser(content=content))
        elif role == "assistant":
            converted.append(ChatMessageAssistant(content=content))
        else:
            raise UsageError(
                f"a {role!r} turn cannot be sent to an Inspect model by a redraft strategy "
                "(text turns only: system, user, assistant)"
            )
    return converted


def redraft_messages(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """Inspect messages as redraft's chat turns; tool turns and tool calls are refused, not dropped."""
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "tool" or (isinstance(message, ChatMessageAssistant) and message.tool_calls):
            raise UsageError("a redraft strategy answers text conversations; this one has tool calls")
        turns.append({"role": message.role, "content": message.text})
    return turns


def completion_of(output: ModelOutput, messages: list[Message]) -> Completion:
    """Inspect's output as a redraft completion, usage always set (see the module docstring)."""
    text = output.completion
    choice = output.choices[0] if output.choices else None
    reason = choice.stop_reason if choice is not None else "unknown"
    usage = output.usage
    if usage is not None:
        prompt_tokens = (
            usage.input_tokens + (usage.input_tokens_cache_read or 0) + (usage.input_tokens_cache_write or 0)
        )
        completion_tokens = usage.output_tokens
    else:
        prompt_tokens = estimate_prompt_tokens(messages)
        completion_tokens = math.ceil(len(text) / CHARS_PER_TOKEN)
    return Completion(
        text=text,
        finish_reason=FINISH_REASONS.get(reason, reason),
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        latency_s=output.time or 0.0,
        model=output.model,
    )


def usage_of(prompt_tokens: int, completion_tokens: int) -> ModelUsage:
    return ModelUsage(
        input_tokens=prompt_tokens,
        output_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
    )

"""The request bodies the server accepts, as pydantic models: one validation, one OpenAPI document.

Fields a strategy run does not use are still accepted (`extra="allow"`), since a passthrough
request is forwarded byte for byte and clients send many optional fields; a strategy run says
in its metadata which of them it did not apply.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = False


class RedraftOptions(BaseModel):
    """`extra_body={"redraft": {...}}`: the strategy of this request, its parameters, progress events."""

    model_config = ConfigDict(extra="forbid")

    strategy: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    feedback: str | None = None
    progress: bool = False


class ChatRequest(BaseModel):
    """`POST /v1/chat/completions`, OpenAI's fields with the bounds the server enforces."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=1000)
    messages: list[ChatMessage] = Field(min_length=1)
    n: int = Field(1, ge=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, ge=0, le=1)
    seed: int | None = None
    stop: str | list[str] | None = None
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    presence_penalty: float | None = Field(None, ge=-2, le=2)
    frequency_penalty: float | None = Field(None, ge=-2, le=2)
    reasoning_effort: str | None = None
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    redraft: RedraftOptions | None = None

    @field_validator("n", "stream", mode="before")
    @classmethod
    def _null_is_default(cls, value: Any, info: Any) -> Any:
        """OpenAI's API types `n` and `stream` as nullable, and clients send null for "default"."""
        if value is None:
            return 1 if info.field_name == "n" else False
        return value

    @field_validator("stream_options")
    @classmethod
    def _stream_options_need_a_stream(cls, value: Any, info: ValidationInfo) -> Any:
        """As OpenAI: options for a stream that is not asked for are a mistake worth naming."""
        if value is not None and not info.data.get("stream"):
            raise ValueError("only allowed when `stream` is true")
        return value


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class AnthropicMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["user", "assistant"]
    content: str | list[dict[str, Any]]


class MessagesRequest(BaseModel):
    """`POST /v1/messages`, Anthropic's fields; translated to a chat request (server.anthropic)."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1, max_length=1000)
    max_tokens: int = Field(ge=1)
    messages: list[AnthropicMessage] = Field(min_length=1)
    system: str | list[dict[str, Any]] | None = None
    stream: bool = False
    temperature: float | None = Field(None, ge=0, le=1)
    top_p: float | None = Field(None, ge=0, le=1)
    stop_sequences: list[str] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None

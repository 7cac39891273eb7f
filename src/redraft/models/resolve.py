"""Turns what a user typed (`--model`, `--base-url`, environment) into a managed model.

With no endpoint configured (no `--base-url`/`OPENAI_BASE_URL` and no remote
model named), the embedded local model is used, so redraft works offline.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, Field

from redraft.models.base import Model
from redraft.models.cache import ResponseCache
from redraft.models.local import LocalModel
from redraft.models.managed import ManagedModel
from redraft.models.openai_compat import OpenAICompatibleModel

LOCAL_CONCURRENCY = 1


class ModelConfig(BaseModel):
    """How to reach one model. Empty fields fall back to the environment."""

    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    timeout_s: float = Field(120.0, gt=0)  # 0 would fail every call at once
    max_retries: int = Field(4, ge=0)
    concurrency: int = Field(16, ge=1)  # 0 would wait forever

    def resolved(self) -> ModelConfig:
        return self.model_copy(update={
            "base_url": self.base_url or os.environ.get("OPENAI_BASE_URL") or None,
            "api_key": self.api_key or os.environ.get("OPENAI_API_KEY") or None,
        })

    @property
    def is_local(self) -> bool:
        name = self.model
        if name is not None:
            return name == "local" or name.startswith("local:")
        return self.resolved().base_url is None


def build_model(config: ModelConfig) -> Model:
    """The bare model a config names (no retries or limits)."""
    config = config.resolved()
    if config.is_local:
        path = config.model.split(":", 1)[1] if config.model and ":" in config.model else None
        return LocalModel(path)
    return OpenAICompatibleModel(
        config.model, base_url=config.base_url, api_key=config.api_key, timeout_s=config.timeout_s
    )


def managed_model(
    config: ModelConfig, *, backoff_s: float = 1.0, cache: ResponseCache | None = None
) -> ManagedModel:
    """The model a config names, wrapped in retries, a concurrency limit, a cache and accounting."""
    inner = build_model(config)
    concurrency = LOCAL_CONCURRENCY if config.is_local else config.concurrency
    return ManagedModel(
        inner, max_concurrency=concurrency, max_retries=config.max_retries, backoff_s=backoff_s,
        cache=cache,
    )

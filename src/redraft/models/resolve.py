"""Turns what a user typed (`--model`, `--base-url`, environment) into a managed model.

With no endpoint configured (no `--base-url`/`OPENAI_BASE_URL` and no remote
model named), the embedded local model is used, so redraft works offline.
"""

from __future__ import annotations

import os
from typing import Any, get_args
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from redraft.models.base import Model, ModelError
from redraft.models.cache import ResponseCache
from redraft.models.local import LocalModel
from redraft.models.managed import ManagedModel
from redraft.models.openai_compat import Constrained, OpenAICompatibleModel

LOCAL_CONCURRENCY = 1
CONSTRAINED_FORMS: tuple[str, ...] = get_args(Constrained)
DEFAULT_HOST = "api.openai.com"  # where the SDK sends a call with no base URL


class ModelConfig(BaseModel):
    """How to reach one model. Empty fields fall back to the environment."""

    model: str | None = None
    base_url: str | None = None
    api_key: str | None = None
    timeout_s: float = Field(120.0, gt=0)  # 0 would fail every call at once
    max_retries: int = Field(4, ge=0)
    concurrency: int = Field(16, ge=1)  # 0 would wait forever
    #: How the endpoint constrains a reply to given strings (verdict follow-ups), None: it cannot.
    #: The embedded model always can; an endpoint only when this says which form its server takes.
    constrained: Constrained | None = None
    #: Whether $OPENAI_API_KEY may stand in for a missing key. Off for a role on another host
    #: than the generator's: a key goes only where it was given for.
    key_from_env: bool = True

    def resolved(self) -> ModelConfig:
        env_key = os.environ.get("OPENAI_API_KEY") if self.key_from_env else None
        return self.model_copy(update={
            "base_url": self.base_url or os.environ.get("OPENAI_BASE_URL") or None,
            "api_key": self.api_key or env_key or None,
            "constrained": self.constrained or _constrained_from_env(),
        })

    @property
    def is_local(self) -> bool:
        name = self.model
        if name is not None:
            return name == "local" or name.startswith("local:")
        return self.resolved().base_url is None


def _constrained_from_env() -> Constrained | None:
    """`$REDRAFT_CONSTRAINED` (json_schema or guided_choice): the opt-in for every endpoint of a run."""
    value = os.environ.get("REDRAFT_CONSTRAINED", "").strip()
    if not value:
        return None
    if value not in CONSTRAINED_FORMS:
        raise ModelError(
            f"REDRAFT_CONSTRAINED={value!r}; expected one of: {', '.join(CONSTRAINED_FORMS)} "
            "(json_schema: OpenAI, llama.cpp server; guided_choice: vLLM)"
        )
    return value  # type: ignore[return-value]


def host_of(base_url: str | None) -> str:
    """The host (and port) a base URL sends to, without credentials; the SDK default for none."""
    if not base_url:
        return DEFAULT_HOST
    try:
        parts = urlsplit(base_url)
        return f"{(parts.hostname or '').lower()}:{parts.port or ''}"
    except ValueError:
        return base_url


def same_host(a: str | None, b: str | None) -> bool:
    return host_of(a) == host_of(b)


def bound_key(role_url: str | None, generator: ModelConfig, explicit: str | None = None) -> dict[str, Any]:
    """The key fields of a role bound to `role_url`: its own key if given, else the generator's
    (and the environment's) only when the role calls the generator's host. A critic on another
    host never receives the generator's key unless told to."""
    if explicit:
        return {"api_key": explicit, "key_from_env": False}
    generator_url = generator.resolved().base_url
    if same_host(role_url or generator_url, generator_url):
        return {"api_key": generator.api_key, "key_from_env": generator.key_from_env}
    return {"api_key": None, "key_from_env": False}


def build_model(config: ModelConfig) -> Model:
    """The bare model a config names (no retries or limits)."""
    config = config.resolved()
    if config.is_local:
        path = config.model.split(":", 1)[1] if config.model and ":" in config.model else None
        return LocalModel(path)
    return OpenAICompatibleModel(
        config.model, base_url=config.base_url, api_key=config.api_key, timeout_s=config.timeout_s,
        constrained=config.constrained,
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

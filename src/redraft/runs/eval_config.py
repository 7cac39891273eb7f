"""What defines an evaluation: its task, strategies, models, budget and sampling, as stored with it.

Its own module so that both the evaluation (which owns the row, the lease and the pending set) and
the item runner (which any executor, local or on a Ray actor, runs one item with) can read it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, model_validator

from redraft.models.resolve import ModelConfig, bound_key
from redraft.redact import strip_credentials
from redraft.roles import check_role
from redraft.runs.calibration import Calibration


class EvalConfig(BaseModel):
    """Everything that defines an evaluation; stored with it (without API keys) for `resume`."""

    task: str
    strategies: list[str] = Field(min_length=1)
    generator: ModelConfig = Field(default_factory=ModelConfig)
    roles: dict[str, ModelConfig] = Field(default_factory=dict)
    limit: int | None = Field(None, ge=1)
    #: Problems of the task skipped before the first evaluated one: `offset=N, limit=M` evaluates the
    #: task's problems N .. N+M-1, a split disjoint from the first N (where a router was fitted).
    offset: int = Field(0, ge=0)
    seed: int | None = None
    concurrency: int = Field(4, ge=1)  # 0 would wait forever on the semaphore
    budget_calls: int | None = Field(None, ge=1)
    budget_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(0.0, ge=0)
    max_tokens: int = Field(512, ge=1)
    params: dict[str, Any] = Field(default_factory=dict)
    cache: bool = True
    #: Per strategy spec, what its calibration pass measured (`min_confidence=dataset`): written
    #: once, when measured, and read back by `resume`, so every item runs with the same number.
    calibration: dict[str, Calibration] = Field(default_factory=dict)
    #: A feedback spec that scores every round's answer after the run in a fresh context, in the
    #: `judge` role's model (else the generator's): the held-out judge (`runs.scoring.HeldOutJudge`),
    #: stored per item as `held_out_scores`, its cost counted apart like grading. None: no such pass.
    held_out: str | None = None
    #: The generator's endpoint pool (`--base-url` given more than once): base URLs that all serve
    #: the generator's model, the first being `generator.base_url`. The Ray executor gives each
    #: actor one of them in turn; empty: the generator's base URL alone.
    endpoints: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _critic_is_a_role(cls, data: Any) -> Any:
        """Configs of the first release kept the critic in its own field; it is a role like any."""
        if isinstance(data, dict) and "critic" in data:
            data = dict(data)
            critic = data.pop("critic")
            if critic is not None:
                data["roles"] = {"critic": critic, **(data.get("roles") or {})}
        return data

    @model_validator(mode="after")
    def _distinct_strategies(self) -> EvalConfig:
        """`direct,direct` would run every item twice under one key (and die on it)."""
        repeated = sorted({s for s in self.strategies if self.strategies.count(s) > 1})
        if repeated:
            raise ValueError(f"strategy {', '.join(repeated)} is given more than once")
        return self

    @model_validator(mode="after")
    def _calibrated_strategies(self) -> EvalConfig:
        unknown = sorted(set(self.calibration) - set(self.strategies))
        if unknown:
            raise ValueError(f"calibration for {', '.join(unknown)}, which is not among the strategies")
        return self

    @model_validator(mode="after")
    def _known_roles(self) -> EvalConfig:
        for role in self.roles:
            check_role(role)
        return self

    @model_validator(mode="after")
    def _pool_starts_at_the_generator(self) -> EvalConfig:
        """The first endpoint of a pool is the generator's own, so everything that reads
        `generator.base_url` (where its key may go, the report) names an endpoint of the pool."""
        if self.endpoints and self.generator.base_url != self.endpoints[0]:
            raise ValueError("endpoints: the first endpoint of the pool must be generator.base_url")
        return self

    def pool(self) -> list[str | None]:
        """The generator's endpoints: the pool, or its one base URL (None: the environment's)."""
        return list(self.endpoints) or [self.generator.base_url]

    def stored(self) -> dict[str, Any]:
        """The config as stored: no API key, and no credentials in a base URL (`user:pass@`)."""
        exclude: dict[str, Any] = {"generator": {"api_key"}}
        if self.roles:
            exclude["roles"] = {role: {"api_key"} for role in self.roles}
        data = self.model_dump(exclude=exclude)
        for config in (data["generator"], *data["roles"].values()):
            config["base_url"] = strip_credentials(config.get("base_url"))
        data["endpoints"] = [strip_credentials(url) for url in data["endpoints"]]
        return data

    def with_api_key(self, api_key: str | None, role_keys: dict[str, str | None] | None = None) -> None:
        """Put the keys back after loading a stored config (they are never stored); the generator's
        goes to a role only on the generator's host, as when the evaluation started."""
        self.generator.api_key = api_key
        for role, config in self.roles.items():
            keys = bound_key(config.base_url, self.generator, (role_keys or {}).get(role))
            config.api_key, config.key_from_env = keys["api_key"], keys["key_from_env"]

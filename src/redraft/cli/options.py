"""Options shared by the commands that call models, and what they build."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError

from redraft.errors import UsageError
from redraft.models.managed import ManagedModel
from redraft.models.resolve import ModelConfig, bound_key, managed_model
from redraft.roles import check_role, parse_binding
from redraft.runs.executor import Executor, LocalExecutor
from redraft.strategies.base import StrategyError
from redraft.tasks.base import Problem, Task, TaskError

Model = Annotated[str | None, typer.Option(
    help="Model name; 'local' or 'local:/path.gguf' for the embedded model (the default when no "
         "endpoint is configured).")]
BaseUrl = Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint (default $OPENAI_BASE_URL).")]
ApiKey = Annotated[str | None, typer.Option(help="API key (default $OPENAI_API_KEY).")]
CriticModel = Annotated[str | None, typer.Option(help="A different model for feedback.")]
CriticBaseUrl = Annotated[str | None, typer.Option(help="Endpoint of the critic model.")]
CriticApiKey = Annotated[str | None, typer.Option(
    help="API key of the critic endpoint (without it, a critic on another host gets no key).")]
RoleApiKeys = Annotated[list[str], typer.Option(
    "--role-api-key", help="API key of a bound role: NAME=KEY (repeatable). A role on another host "
                           "than the generator's gets no key without it.")]
Roles = Annotated[list[str], typer.Option(
    "--role", help="Bind a role to a model: NAME=MODEL[@BASE_URL] (repeatable), e.g. "
                   "reward=gpt-4o or judge=qwen@http://host:8000/v1. Judging roles fall back to "
                   "the critic, the others to the generator.")]
Retries = Annotated[int, typer.Option(help="Retries on 429, 5xx, timeouts and connection errors.")]
Timeout = Annotated[float, typer.Option(help="Seconds per request.")]
TaskSpec = Annotated[str | None, typer.Option(
    "--task", "-t", help="A task: gsm8k, multiarith, humaneval, jsonl:PATH, ... (see `redraft tasks`).")]
ProblemRef = Annotated[str, typer.Option(
    "--problem", help="Which problem of --task: an index (0 = first) or an id such as gsm8k/3.")]
FeedbackSpec = Annotated[str | None, typer.Option(
    "--feedback", "-f", help="Feedback source: critic, tests, program, checklist, oracle, ... ")]
Db = Annotated[Path | None, typer.Option(
    "--db", help="Run store (default $REDRAFT_DB, else runs.db in $REDRAFT_HOME or ~/.redraft).")]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
BaseUrls = Annotated[list[str], typer.Option(
    "--base-url", help="OpenAI-compatible endpoint (default $OPENAI_BASE_URL). Repeat it for a pool of "
                       "endpoints serving the same model, spread over the actors of --executor ray.")]
ExecutorName = Annotated[str, typer.Option(
    "--executor", help="Where the items run: local (this process, the default) or ray (a Ray cluster's "
                       "actors; needs the [ray] extra).")]
RayAddress = Annotated[str | None, typer.Option(
    "--ray-address", help="With --executor ray: the cluster to join (auto, HOST:6379, ray://HOST:10001); "
                          "default $RAY_ADDRESS, else one `ray start` left here, else a local Ray.")]
Actors = Annotated[int | None, typer.Option(
    "--actors", help="With --executor ray: how many actors (default: one per endpoint).")]
PerActor = Annotated[int | None, typer.Option(
    "--per-actor", help="With --executor ray: items in flight per actor (default: --concurrency).")]

Config = TypeVar("Config", bound=BaseModel)


def validated(cls: type[Config], **fields: Any) -> Config:
    """A config built from what the user typed; a field it rejects is a `UsageError`, not a bug."""
    try:
        return cls.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or cls.__name__}: {e['msg']}"
                             for e in exc.errors())
        raise UsageError(f"bad {cls.__name__}: {problems}") from None


def check_counts(*, positive: dict[str, float | None], non_negative: dict[str, int] | None = None) -> None:
    """Refuse, naming the option, numbers that make no sense, before anything is built or sent.

    `--concurrency 0` waits forever on its semaphore, `--timeout 0` fails every call, a zero
    budget or `--limit 0` evaluates nothing and reports it as a result; a negative retry count
    is a typo. Keys are the options' Python names (`max_tokens` is `--max-tokens`).
    """
    for name, value in positive.items():
        if value is not None and value <= 0:
            raise UsageError(f"--{name.replace('_', '-')} must be greater than 0, got {value}")
    for name, count in (non_negative or {}).items():
        if count < 0:
            raise UsageError(f"--{name.replace('_', '-')} must be 0 or more, got {count}")


def role_configs(
    *,
    model: str | None,
    base_url: str | None,
    api_key: str | None,
    critic_model: str | None,
    critic_base_url: str | None,
    critic_api_key: str | None,
    timeout: float,
    retries: int,
    roles: list[str] | None = None,
    role_api_keys: list[str] | None = None,
) -> dict[str, ModelConfig]:
    """The generator and every bound role. `--critic-model` is `--role critic=...`; an unset
    endpoint inherits the generator's, and the generator's key goes along only to its own host
    (`bound_key`): another host gets the key given for it (`--critic-api-key`, `--role-api-key`)."""
    generator = validated(ModelConfig, model=model, base_url=base_url, api_key=api_key,
                          timeout_s=timeout, max_retries=retries)
    keys = parse_role_keys(role_api_keys or [])
    if critic_api_key:
        keys.setdefault("critic", critic_api_key)
    configs = {"generator": generator}
    if critic_model or critic_base_url:
        url = critic_base_url or base_url
        configs["critic"] = generator.model_copy(update={
            "model": critic_model, "base_url": url, **bound_key(url, generator, keys.get("critic"))})
    for binding in roles or []:
        role, bound_model, bound_url = parse_binding(binding)
        url = bound_url or base_url
        configs[role] = generator.model_copy(update={
            "model": bound_model, "base_url": url, **bound_key(url, generator, keys.get(role))})
    return configs


def parse_role_keys(pairs: list[str]) -> dict[str, str]:
    """`--role-api-key NAME=KEY` pairs; the role name is checked like `--role`'s."""
    keys: dict[str, str] = {}
    for pair in pairs:
        name, sep, key = pair.partition("=")
        if not sep or not name.strip() or not key:
            raise UsageError("--role-api-key expects NAME=KEY")  # never echo what may be a key
        keys[check_role(name.strip())] = key
    return keys


def role_models(**options: Any) -> dict[str, ManagedModel]:
    """`role_configs`, each wrapped as a managed model."""
    return {role: managed_model(config) for role, config in role_configs(**options).items()}


def pick_problem(task: Task, ref: str) -> Problem:
    """A problem by index or id; loads only as many problems as an index needs."""
    if ref.isdigit():
        problems = task.load(limit=int(ref) + 1)
        if int(ref) >= len(problems):
            raise TaskError(
                f"task {task.name} has only {len(problems)} problems; index {ref} is out of range")
        return problems[int(ref)]
    for problem in task.load():
        if problem.id == ref:
            return problem
    raise TaskError(f"task {task.name} has no problem with id {ref!r}")


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """`-p key=value` pairs; values are read as JSON when they parse, else kept as strings."""
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise StrategyError(f"--param expects KEY=VALUE, got {pair!r}")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params


def executor(name: str, *, ray_address: str | None, actors: int | None, per_actor: int | None) -> Executor:
    """The executor `--executor` names; the Ray options only with Ray, never silently ignored."""
    if name == "local":
        given = [flag for flag, value in (("--ray-address", ray_address), ("--actors", actors),
                                          ("--per-actor", per_actor)) if value is not None]
        if given:
            raise UsageError(f"{', '.join(given)} only apply to --executor ray")
        return LocalExecutor()
    if name == "ray":
        check_counts(positive={"actors": actors, "per_actor": per_actor})
        from redraft.integrations.ray_executor import RayExecutor  # Ray itself only when it runs

        return RayExecutor(address=ray_address, actors=actors, per_actor=per_actor)
    raise UsageError(f"--executor must be local or ray, got {name!r}")


def endpoint_pool(base_urls: list[str]) -> tuple[str | None, list[str]]:
    """`--base-url` given N times: the generator's base URL, and the pool (empty for one URL)."""
    urls = [url.strip() for url in base_urls if url.strip()]
    return (urls[0] if urls else None), (urls if len(urls) > 1 else [])

"""Options shared by the commands that call models, and what they build."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from redraft.models.managed import ManagedModel
from redraft.models.resolve import ModelConfig, managed_model
from redraft.strategies.base import StrategyError
from redraft.tasks.base import Problem, Task, TaskError

Model = Annotated[str | None, typer.Option(
    help="Model name; 'local' or 'local:/path.gguf' for the embedded model (the default when no "
         "endpoint is configured).")]
BaseUrl = Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint (default $OPENAI_BASE_URL).")]
ApiKey = Annotated[str | None, typer.Option(help="API key (default $OPENAI_API_KEY).")]
CriticModel = Annotated[str | None, typer.Option(help="A different model for feedback.")]
CriticBaseUrl = Annotated[str | None, typer.Option(help="Endpoint of the critic model.")]
CriticApiKey = Annotated[str | None, typer.Option(help="API key of the critic endpoint.")]
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


def role_models(
    *,
    model: str | None,
    base_url: str | None,
    api_key: str | None,
    critic_model: str | None,
    critic_base_url: str | None,
    critic_api_key: str | None,
    timeout: float,
    retries: int,
) -> dict[str, ManagedModel]:
    """The generator, and a critic when one is named; critic settings inherit the generator's."""
    generator = ModelConfig(model=model, base_url=base_url, api_key=api_key,
                            timeout_s=timeout, max_retries=retries)
    models = {"generator": managed_model(generator)}
    if critic_model or critic_base_url:
        critic = ModelConfig(model=critic_model, base_url=critic_base_url or base_url,
                             api_key=critic_api_key or api_key, timeout_s=timeout, max_retries=retries)
        models["critic"] = managed_model(critic)
    return models


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

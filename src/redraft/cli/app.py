"""The `redraft` command: a thin layer over the library.

Subcommands read like sentences: `redraft run PROMPT`, `redraft strategies`,
`redraft runs`, `redraft show RUN_ID`. Known failures (a missing model, an
unreachable endpoint, a bad parameter) print one line on stderr and exit 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from redraft.api import arefine, build_strategy
from redraft.cli.live import LiveView
from redraft.models.base import ModelError
from redraft.models.resolve import ModelConfig, managed_model
from redraft.runs.store import RunNotFound, RunStore
from redraft.strategies.base import REGISTRY, StrategyError, strategy_info
from redraft.strategies.context import Budget

app = typer.Typer(
    help="Draft, get feedback, redraft: self-refinement strategies for any LLM, traced.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
stdout = Console()
stderr = Console(stderr=True)

KNOWN_ERRORS = (ModelError, StrategyError, RunNotFound, ValueError, OSError)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the failures a user can fix into one line on stderr and exit code 1."""
    try:
        yield
    except KNOWN_ERRORS as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None


def open_store(db: Path | None) -> RunStore:
    return RunStore(db)


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


DbOption = Annotated[
    Path | None, typer.Option("--db", help="Run store (default $REDRAFT_DB or ~/.redraft/runs.db).")
]


@app.command()
def run(
    prompt: Annotated[str, typer.Argument(help="The question or task for the model.")],
    strategy: Annotated[str, typer.Option("--strategy", "-s", help="Strategy name.")] = "self_refine",
    model: Annotated[str | None, typer.Option(
        help="Model name; 'local' or 'local:/path.gguf' for the embedded model (the default "
             "when no endpoint is configured).")] = None,
    base_url: Annotated[str | None, typer.Option(
        help="OpenAI-compatible endpoint (default $OPENAI_BASE_URL).")] = None,
    api_key: Annotated[str | None, typer.Option(help="API key (default $OPENAI_API_KEY).")] = None,
    critic_model: Annotated[str | None, typer.Option(help="A different model for feedback.")] = None,
    critic_base_url: Annotated[str | None, typer.Option(help="Endpoint of the critic model.")] = None,
    critic_api_key: Annotated[str | None, typer.Option(help="API key of the critic endpoint.")] = None,
    max_rounds: Annotated[int | None, typer.Option(help="Refinement rounds (strategy default).")] = None,
    param: Annotated[list[str], typer.Option(
        "--param", "-p", help="Strategy parameter KEY=VALUE (repeatable).")] = [],  # noqa: B006
    temperature: Annotated[float | None, typer.Option(help="Sampling temperature.")] = None,
    max_tokens: Annotated[int, typer.Option(help="Max completion tokens per call.")] = 512,
    seed: Annotated[int | None, typer.Option(help="Sampling seed, where supported.")] = None,
    max_calls: Annotated[int | None, typer.Option(help="Budget: max model calls.")] = None,
    max_total_tokens: Annotated[int | None, typer.Option(help="Budget: max tokens in all.")] = None,
    retries: Annotated[int, typer.Option(help="Retries on 429, 5xx, timeouts.")] = 4,
    timeout: Annotated[float, typer.Option(help="Seconds per request.")] = 120.0,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Run a strategy on PROMPT, showing each draft, critique and redraft as it happens."""
    with user_errors():
        params = parse_params(param)
        if max_rounds is not None:
            params["max_rounds"] = max_rounds
        chosen = build_strategy(strategy, **params)
        generator = ModelConfig(model=model, base_url=base_url, api_key=api_key,
                                timeout_s=timeout, max_retries=retries)
        models = {"generator": managed_model(generator)}
        if critic_model or critic_base_url:
            critic = ModelConfig(model=critic_model, base_url=critic_base_url or base_url,
                                 api_key=critic_api_key or api_key, timeout_s=timeout,
                                 max_retries=retries)
            models["critic"] = managed_model(critic)
        sampling = {"temperature": temperature, "max_tokens": max_tokens, "seed": seed}
        store = open_store(db)
        listeners = [] if as_json else [LiveView(stdout)]
        spinner = (stderr.status("thinking…") if stdout.is_terminal and not as_json
                   else contextlib.nullcontext())
        with spinner:
            outcome = asyncio.run(arefine(
                prompt, strategy=chosen, model=models["generator"],
                critic_model=models.get("critic"),
                budget=Budget(max_calls=max_calls, max_tokens=max_total_tokens),
                sampling={k: v for k, v in sampling.items() if v is not None},
                store=store, listeners=listeners,
            ))
    if as_json:
        typer.echo(json.dumps(outcome.to_summary(), ensure_ascii=False))
        return
    usage = outcome.usage
    stdout.rule("answer")
    stdout.print(outcome.text.strip(), markup=False, highlight=False)
    stdout.print(
        f"run {outcome.run_id} · {outcome.strategy} · stopped: {outcome.stop_reason} · "
        f"{usage.calls} calls, {usage.prompt_tokens}+{usage.completion_tokens} tokens, "
        f"{outcome.wall_s:.1f}s", markup=False, highlight=False, style="dim",
    )


@app.command()
def strategies(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the registered strategies with their parameters and papers."""
    infos = [strategy_info(REGISTRY[name]) for name in sorted(REGISTRY)]
    if as_json:
        typer.echo(json.dumps(infos, default=str))
        return
    table = Table("strategy", "parameters (defaults)", "paper")
    for info in infos:
        params = ", ".join(f"{k}={v['default']}" for k, v in info["params"].items())
        table.add_row(info["name"], params, info["paper"])
    stdout.print(table)


@app.command()
def runs(
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many, newest first.")] = 20,
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List recorded runs, newest first."""
    with user_errors():
        summaries = open_store(db).list_runs(limit)
    if as_json:
        typer.echo(json.dumps([s.model_dump() for s in summaries]))
        return
    table = Table("run", "when", "strategy", "status", "calls", "tokens", "prompt", "answer")
    for s in summaries:
        table.add_row(s.id, s.created_at[:19], s.strategy + (" (oracle)" if s.oracle else ""),
                      s.status, str(s.calls), str(s.prompt_tokens + s.completion_tokens),
                      _clip(s.prompt), _clip(s.answer or s.error or ""))
    stdout.print(table)


@app.command()
def show(
    run_id: Annotated[str, typer.Argument(help="Run id or a unique prefix.")],
    db: DbOption = None,
    calls: Annotated[bool, typer.Option("--calls", help="Also print every model call.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print one run's rounds: each candidate with its feedback and verdict."""
    with user_errors():
        detail = open_store(db).get_run(run_id)
    if as_json:
        typer.echo(detail.model_dump_json())
        return
    stdout.print(f"run {detail.id} · {detail.strategy} {detail.strategy_params} · {detail.status}"
                 f" · models {detail.models}", markup=False, highlight=False)
    stdout.print(f"prompt: {detail.prompt}", markup=False, highlight=False)
    for c in detail.candidates:
        stdout.rule(f"round {c.round} · {c.kind}")
        stdout.print(c.text.strip(), markup=False, highlight=False)
        if c.feedback is not None:
            verdict = c.verdict.value if c.verdict else "none"
            stdout.print(f"\nfeedback (verdict {verdict}):", style="bold", markup=False)
            stdout.print(c.feedback, markup=False, highlight=False)
    if calls:
        for call in detail.call_records:
            stdout.rule(f"call {call.seq} · {call.role} · {call.model}")
            stdout.print(json.dumps(call.messages, indent=1), markup=False, highlight=False)
            stdout.print(call.error or call.text, markup=False, highlight=False)
    stdout.rule()
    stdout.print(f"answer: {detail.answer}  (stopped: {detail.stop_reason}; {detail.calls} calls, "
                 f"{detail.prompt_tokens}+{detail.completion_tokens} tokens)",
                 markup=False, highlight=False)


def _clip(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def main() -> None:
    app()

"""The commands that list and show: strategies, tasks, feedback sources; `redraft runs list|show`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from redraft.cli import options as o
from redraft.cli.app import app, renamed, runs_app, stdout, user_errors
from redraft.errors import UsageError
from redraft.feedback.registry import feedback_sources
from redraft.runs.store import RunStore
from redraft.strategies.registry import STRATEGIES, strategy_info
from redraft.tasks.registry import list_tasks


def plain(text: str) -> None:
    stdout.print(text, markup=False, highlight=False)


@app.command()
def strategies(as_json: o.Json = False) -> None:
    """List the registered strategies with their parameters and papers."""
    with user_errors():
        infos = [strategy_info(cls) for _, cls in STRATEGIES.items()]
    if as_json:
        typer.echo(json.dumps(infos, default=str))
        return
    table = Table("strategy", "parameters (defaults)", "roles", "paper")
    for info in infos:
        params = ", ".join(f"{k}={v['default']}" for k, v in info["params"].items())
        table.add_row(escape(info["name"]), escape(params), ", ".join(info["roles"]), escape(info["paper"]))
    stdout.print(table)


@app.command()
def tasks(as_json: o.Json = False) -> None:
    """List the tasks (benchmarks and user-file formats) with their sizes."""
    with user_errors():
        infos = list_tasks()
    if as_json:
        typer.echo(json.dumps([i.model_dump() for i in infos]))
        return
    table = Table("task", "answers", "size", "description")
    for info in infos:
        table.add_row(escape(info.spec), info.answer_type, "" if info.size is None else str(info.size),
                      escape(info.description))
    stdout.print(table)


@app.command()
def feedback(as_json: o.Json = False) -> None:
    """List the feedback sources; oracle ones read the reference and are for upper bounds only."""
    with user_errors():
        infos = feedback_sources()
    if as_json:
        typer.echo(json.dumps([f.model_dump() for f in infos], default=str))
        return
    table = Table("feedback", "oracle", "parameters (defaults)", "roles", "what it does")
    for info in infos:
        params = ", ".join(f"{k}={v['default']}" for k, v in info.params.items())
        description = f"= {info.alias_of}" if info.alias_of else info.description
        table.add_row(info.name, "yes" if info.oracle else "", "" if info.alias_of else escape(params),
                      ", ".join(info.roles), escape(description))
    stdout.print(table)


Limit = Annotated[int, typer.Option("--limit", "-n", help="How many, newest first.")]
Calls = Annotated[bool, typer.Option("--calls", help="Also print every model call.")]
RunId = Annotated[str, typer.Argument(help="Run id or a unique prefix.")]


@runs_app.callback(invoke_without_command=True)
def runs(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", hidden=True)] = 20,
    db: Annotated[Path | None, typer.Option("--db", hidden=True)] = None,
    as_json: Annotated[bool, typer.Option("--json", hidden=True)] = False,
) -> None:
    """Recorded runs: list them, show one."""
    given = [name for name in ("limit", "db", "as_json")
             if getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"]
    if ctx.invoked_subcommand is not None and given:  # `runs -n 5 list` would silently list 20
        flags = {"limit": "-n/--limit", "db": "--db", "as_json": "--json"}
        with user_errors():
            raise UsageError(f"put {', '.join(flags[g] for g in given)} after the subcommand: "
                             f"redraft runs {ctx.invoked_subcommand} ...")
    if ctx.invoked_subcommand is None:  # the old spelling, `redraft runs [-n N] [--json]`
        renamed("runs", "runs list")
        list_runs(limit, db, as_json)


@runs_app.command("list")
def runs_list(limit: Limit = 20, db: o.Db = None, as_json: o.Json = False) -> None:
    """List recorded runs, newest first."""
    list_runs(limit, db, as_json)


@runs_app.command("show")
def runs_show(run_id: RunId, calls: Calls = False, db: o.Db = None, as_json: o.Json = False) -> None:
    """Print one run's rounds: each candidate with its feedback and verdict."""
    show_run(run_id, db, calls, as_json)


@app.command(hidden=True)
def show(run_id: RunId, db: o.Db = None, calls: Calls = False, as_json: o.Json = False) -> None:
    """Old spelling of `redraft runs show`."""
    renamed("show", "runs show")
    show_run(run_id, db, calls, as_json)


def list_runs(limit: int, db: Path | None, as_json: bool) -> None:
    """The runs table (or JSON list), newest first."""
    with user_errors():
        summaries = RunStore(db).list_runs(limit)
    if as_json:
        typer.echo(json.dumps([s.model_dump() for s in summaries]))
        return
    table = Table("run", "when", "strategy", "status", "calls", "tokens", "prompt", "answer")
    for s in summaries:
        table.add_row(s.id, s.created_at[:19], escape(s.strategy + (" (oracle)" if s.oracle else "")),
                      s.status, str(s.calls), str(s.prompt_tokens + s.completion_tokens),
                      escape(_clip(s.prompt)), escape(_clip(s.answer or s.error or "")))
    table.columns[0].no_wrap = True
    stdout.print(table)


def show_run(run_id: str, db: Path | None, calls: bool, as_json: bool) -> None:
    """One run's rounds (and, with `calls`, every model call), or its JSON."""
    with user_errors():
        detail = RunStore(db).get_run(run_id)
    if as_json:
        typer.echo(detail.model_dump_json())
        return
    oracle = " · ORACLE" if detail.oracle else ""
    plain(f"run {detail.id} · {detail.strategy} {detail.strategy_params}{oracle} · {detail.status}"
          f" · models {detail.models}")
    plain(f"prompt: {detail.prompt}")
    for c in detail.candidates:
        stdout.rule(f"round {c.round} · {c.kind}")
        plain(c.text.strip())
        if c.feedback is not None:
            verdict = c.verdict.value if c.verdict else "none"
            score = f", score {c.score:.2f}" if c.score is not None else ""
            stdout.print(f"\nfeedback (verdict {verdict}{score}):", style="bold", markup=False)
            plain(c.feedback)
    if calls:
        for call in detail.call_records:
            stdout.rule(f"call {call.seq} · {call.role} · {call.model}")
            plain(json.dumps(call.messages, indent=1))
            plain(call.error or call.text)
    stdout.rule()
    plain(f"answer: {detail.answer}  (stopped: {detail.stop_reason}; {detail.calls} calls, "
          f"{detail.prompt_tokens}+{detail.completion_tokens} tokens)")


def _clip(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"

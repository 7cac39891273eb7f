"""`redraft eval` (strategies over a task, resumable), `redraft evals` and `redraft report`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from redraft.cli import options as o
from redraft.cli.app import app, stderr, stdout, user_errors
from redraft.errors import UsageError
from redraft.report.summary import summarize
from redraft.report.table import render_table
from redraft.runs.eval_store import EvalStore, ItemResult
from redraft.runs.evaluation import EvalConfig, EvalInterrupted, Evaluation
from redraft.runs.store import RunStore


@app.command("eval")
def evaluate(
    task: Annotated[str | None, typer.Option("--task", "-t", help="Task spec (see `redraft tasks`).")] = None,
    strategy: Annotated[str, typer.Option(
        "--strategy", "-s", help="Comma-separated strategies; NAME@FEEDBACK picks a feedback source, "
                                 "A>B composes.")] = "direct,self_refine",
    model: o.Model = None,
    base_url: o.BaseUrl = None,
    api_key: o.ApiKey = None,
    critic_model: o.CriticModel = None,
    critic_base_url: o.CriticBaseUrl = None,
    critic_api_key: o.CriticApiKey = None,
    role: o.Roles = [],  # noqa: B006
    limit: Annotated[int | None, typer.Option(help="Only the first N problems.")] = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed (samples get seed+i).")] = None,
    concurrency: Annotated[int, typer.Option(help="Problems in flight (the embedded model runs one "
                                                  "call at a time).")] = 4,
    budget_calls: Annotated[int | None, typer.Option(help="Max model calls per problem.")] = None,
    budget_tokens: Annotated[int | None, typer.Option(help="Max tokens per problem.")] = None,
    temperature: Annotated[float, typer.Option(help="Default temperature (strategies that "
                                                    "sample set their own).")] = 0.0,
    max_tokens: Annotated[int, typer.Option(help="Max completion tokens per call.")] = 512,
    param: Annotated[list[str], typer.Option(
        "--param", "-p", help="KEY=VALUE for every strategy that has KEY.")] = [],  # noqa: B006
    resume: Annotated[str | None, typer.Option(help="Finish an interrupted evaluation.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not reuse cached responses.")] = False,
    retries: o.Retries = 4,
    timeout: o.Timeout = 120.0,
    db: o.Db = None,
    as_json: o.Json = False,
) -> None:
    """Run strategies on a task's problems and compare accuracy, flips and cost."""
    with user_errors():
        store = RunStore(db)
        if resume:
            record = EvalStore(store).get(resume)
            config = EvalConfig.model_validate(record.config)
            config.with_api_key(api_key, {"critic": critic_api_key})
            evaluation = Evaluation(config, store, eval_id=record.id)
        else:
            if task is None:
                raise UsageError("give --task (or --resume EVAL_ID)")
            configs = o.role_configs(model=model, base_url=base_url, api_key=api_key,
                                     critic_model=critic_model, critic_base_url=critic_base_url,
                                     critic_api_key=critic_api_key, timeout=timeout, retries=retries,
                                     roles=role)
            config = EvalConfig(
                task=task, strategies=[s.strip() for s in strategy.split(",") if s.strip()],
                generator=configs.pop("generator"), roles=configs, limit=limit, seed=seed,
                concurrency=concurrency,
                budget_calls=budget_calls, budget_tokens=budget_tokens, temperature=temperature,
                max_tokens=max_tokens, params=o.parse_params(param), cache=not no_cache,
            )
            evaluation = Evaluation(config, store)
        pending = evaluation.pending()
        stderr.print(f"eval {evaluation.eval_id}: {len(pending)} of "
                     f"{len(config.strategies) * len(evaluation.problems)} items to run",
                     markup=False, highlight=False)
        with Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("acc {task.fields[accuracy]}"), TextColumn("{task.fields[tokens]} tokens"),
            TimeRemainingColumn(), console=stderr, disable=not stderr.is_terminal,
        ) as progress:
            bar = progress.add_task("problems", total=len(pending), accuracy="–", tokens=0)
            seen: list[ItemResult] = []

            def on_item(item: ItemResult) -> None:
                seen.append(item)
                progress.update(bar, advance=1,
                                accuracy=f"{sum(i.correct for i in seen) / len(seen):.1%}",
                                tokens=sum(i.tokens for i in seen))

            evaluation.on_item = on_item
            try:
                asyncio.run(evaluation.run())
            except EvalInterrupted as exc:
                raise UsageError(str(exc)) from None
        summary, _ = summarize(store, evaluation.eval_id)
    if as_json:
        typer.echo(json.dumps(summary.to_json()))
        return
    render_table(summary, stdout)
    stdout.print(f"report: redraft report {evaluation.eval_id} --html report.html", style="dim")


@app.command()
def evals(
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many, newest first.")] = 20,
    db: o.Db = None,
    as_json: o.Json = False,
) -> None:
    """List evaluations, newest first."""
    with user_errors():
        records = EvalStore(RunStore(db)).recent(limit)
    if as_json:
        typer.echo(json.dumps([r.model_dump() for r in records]))
        return
    for r in records:
        stdout.print(f"{r.id}  {r.created_at[:19]}  {r.status:<11} {r.task}  {', '.join(r.strategies)}",
                     markup=False, highlight=False)


@app.command()
def report(
    eval_id: Annotated[str, typer.Argument(help="Evaluation id (or a unique prefix).")],
    html: Annotated[Path | None, typer.Option(help="Write a self-contained HTML report here.")] = None,
    db: o.Db = None,
    as_json: o.Json = False,
) -> None:
    """Show an evaluation's comparison table; optionally write the HTML report."""
    with user_errors():
        store = RunStore(db)
        summary, items = summarize(store, eval_id)
        if html is not None:
            from redraft.report.html import render_html

            html.write_text(render_html(summary, items, store), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(summary.to_json()))
    else:
        render_table(summary, stdout)
    if html is not None:
        stderr.print(f"wrote {html}", markup=False, highlight=False)

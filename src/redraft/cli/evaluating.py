"""`redraft eval` (strategies over a task) and `redraft evals list|show|resume|report|export`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from redraft.cli import options as o
from redraft.cli.app import app, evals_app, renamed, stderr, stdout, user_errors
from redraft.cli.signals import Interrupted, run_interruptible
from redraft.errors import UsageError
from redraft.extras import needs_extra
from redraft.report.summary import summarize
from redraft.report.table import render_table
from redraft.runs.eval_store import EvalStore, ItemResult
from redraft.runs.evaluation import EvalConfig, Evaluation
from redraft.runs.replication_store import ReplicationStore
from redraft.runs.store import RunStore


@app.command("eval")
def evaluate(
    task: Annotated[str | None, typer.Option("--task", "-t", help="Task spec (see `redraft tasks`).")] = None,
    strategy: Annotated[str, typer.Option(
        "--strategy", "-s", help="Comma-separated strategies; NAME@FEEDBACK picks a feedback source, "
                                 "A>B composes.")] = "direct,self_refine",
    model: o.Model = None,
    base_url: o.BaseUrls = [],  # noqa: B006
    api_key: o.ApiKey = None,
    critic_model: o.CriticModel = None,
    critic_base_url: o.CriticBaseUrl = None,
    critic_api_key: o.CriticApiKey = None,
    role: o.Roles = [],  # noqa: B006
    role_api_key: o.RoleApiKeys = [],  # noqa: B006
    limit: Annotated[int | None, typer.Option(help="Only the first N problems (after --offset).")] = None,
    offset: Annotated[int, typer.Option(help="Skip the task's first N problems (a split disjoint from "
                                             "them, e.g. where a router was fitted).")] = 0,
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
    resume: Annotated[str | None, typer.Option(
        help="Finish an interrupted evaluation (now `redraft evals resume EVAL_ID`).")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not reuse cached responses.")] = False,
    retries: o.Retries = 4,
    timeout: o.Timeout = 120.0,
    executor: o.ExecutorName = "local",
    ray_address: o.RayAddress = None,
    actors: o.Actors = None,
    per_actor: o.PerActor = None,
    db: o.Db = None,
    as_json: o.Json = False,
) -> None:
    """Run strategies on a task's problems and compare accuracy, flips and cost."""
    if resume:  # the old spelling of `redraft evals resume EVAL_ID`
        renamed(f"eval --resume {resume}", f"evals resume {resume}")
        resume_eval(resume, api_key=api_key, critic_api_key=critic_api_key, db=db, as_json=as_json,
                    role_api_keys=role_api_key, executor=executor, ray_address=ray_address, actors=actors,
                    per_actor=per_actor)
        return
    with user_errors():
        runs_on = o.executor(executor, ray_address=ray_address, actors=actors, per_actor=per_actor)
        first_url, endpoints = o.endpoint_pool(base_url)
        if task is None:
            raise UsageError("give --task (or resume one with `redraft evals resume EVAL_ID`)")
        strategies = [s.strip() for s in strategy.split(",") if s.strip()]
        if not strategies:
            raise UsageError("give at least one strategy in --strategy")
        if len(set(strategies)) < len(strategies):
            raise UsageError(f"--strategy names a strategy more than once: {strategy}")
        o.check_counts(positive={"limit": limit, "concurrency": concurrency, "budget_calls": budget_calls,
                                 "budget_tokens": budget_tokens, "max_tokens": max_tokens,
                                 "timeout": timeout},
                       non_negative={"retries": retries, "offset": offset})
        configs = o.role_configs(model=model, base_url=first_url, api_key=api_key,
                                 critic_model=critic_model, critic_base_url=critic_base_url,
                                 critic_api_key=critic_api_key, timeout=timeout, retries=retries,
                                 roles=role, role_api_keys=role_api_key)
        config = o.validated(
            EvalConfig, task=task, strategies=strategies,
            generator=configs.pop("generator"), roles=configs, limit=limit, offset=offset, seed=seed,
            concurrency=concurrency,
            budget_calls=budget_calls, budget_tokens=budget_tokens, temperature=temperature,
            max_tokens=max_tokens, params=o.parse_params(param), cache=not no_cache, endpoints=endpoints,
        )
        store = RunStore(db)
        finish(Evaluation(config, store, executor=runs_on), store, as_json)


def resume_eval(eval_id: str, *, api_key: str | None, critic_api_key: str | None, db: Path | None,
                as_json: bool, role_api_keys: list[str] | None = None, executor: str = "local",
                ray_address: str | None = None, actors: int | None = None,
                per_actor: int | None = None) -> None:
    """Finish an interrupted evaluation with its stored config (and the keys, never stored), on
    the executor given now: where items run is no part of what the evaluation is."""
    with user_errors():
        runs_on = o.executor(executor, ray_address=ray_address, actors=actors, per_actor=per_actor)
        store = RunStore(db)
        record = EvalStore(store).get(eval_id)
        config = o.validated(EvalConfig, **record.config)
        keys: dict[str, str | None] = {"critic": critic_api_key, **o.parse_role_keys(role_api_keys or [])}
        config.with_api_key(api_key, keys)
        evaluation = Evaluation(config, store, eval_id=record.id, executor=runs_on)
        evaluation.claim()  # refused up front while another process runs it
        finish(evaluation, store, as_json)


def finish(evaluation: Evaluation, store: RunStore, as_json: bool) -> None:
    """Run what is missing of an evaluation under a progress bar, then print its table or JSON."""
    config = evaluation.config
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
            if item.status != "error":  # an error item is not scored, so not in the running accuracy
                seen.append(item)
            progress.update(bar, advance=1,
                            accuracy=f"{sum(i.correct for i in seen) / len(seen):.1%}" if seen else "–",
                            tokens=sum(i.tokens for i in seen))

        evaluation.on_item = on_item
        try:  # EvalInterrupted is a RedraftError: one line, exit 1
            run_interruptible(evaluation.run())
        except Interrupted as stopped:  # SIGINT/SIGTERM: marked interrupted; exit 130/143
            raise Interrupted(stopped.signum, f"finished items are saved; resume with "
                                              f"`redraft evals resume {evaluation.eval_id}`") from None
    summary, _ = summarize(store, evaluation.eval_id)
    if as_json:
        typer.echo(json.dumps(summary.to_json()))
    else:
        render_table(summary, stdout)
        stdout.print(f"report: redraft evals report {evaluation.eval_id} --html report.html", style="dim")
    failed_items(store, evaluation.eval_id)


def failed_items(store: RunStore, eval_id: str) -> None:
    """With error items, one line on stderr (how many, the first error, how to retry) and exit 1:
    a script must not take a partly failed evaluation for a finished one."""
    errors = [i for i in EvalStore(store).items(eval_id) if i.status == "error"]
    if not errors:
        return
    first = errors[0]
    reason = " ".join((first.error or "").split())  # one line, whatever the upstream sent
    typer.echo(f"error: eval {eval_id}: {len(errors)} items failed and are not scored (first: "
               f"{first.strategy} on {first.problem_id}: {reason}); retry them with "
               f"`redraft evals resume {eval_id}`", err=True)
    raise typer.Exit(1)


Limit = Annotated[int, typer.Option("--limit", "-n", help="How many, newest first.")]
EvalId = Annotated[str, typer.Argument(help="Evaluation id (or a unique prefix).")]
Html = Annotated[Path | None, typer.Option(help="Write a self-contained HTML report here.")]


@evals_app.callback(invoke_without_command=True)
def evals(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", hidden=True)] = 20,
    db: Annotated[Path | None, typer.Option("--db", hidden=True)] = None,
    as_json: Annotated[bool, typer.Option("--json", hidden=True)] = False,
) -> None:
    """Evaluations: list, show, resume, report."""
    if ctx.invoked_subcommand is None:  # the old spelling, `redraft evals [-n N] [--json]`
        renamed("evals", "evals list")
        list_evals(limit, db, as_json)


@evals_app.command("list")
def evals_list(limit: Limit = 20, db: o.Db = None, as_json: o.Json = False) -> None:
    """List evaluations, newest first."""
    list_evals(limit, db, as_json)


@evals_app.command("show")
def evals_show(eval_id: EvalId, db: o.Db = None, as_json: o.Json = False) -> None:
    """Show an evaluation's comparison table."""
    report_eval(eval_id, None, db, as_json)


@evals_app.command("resume")
def evals_resume(eval_id: EvalId, api_key: o.ApiKey = None, critic_api_key: o.CriticApiKey = None,
                 role_api_key: o.RoleApiKeys = [],  # noqa: B006
                 executor: o.ExecutorName = "local", ray_address: o.RayAddress = None,
                 actors: o.Actors = None, per_actor: o.PerActor = None,
                 db: o.Db = None, as_json: o.Json = False) -> None:
    """Finish an interrupted evaluation: runs only what is missing or failed (keys are never stored)."""
    resume_eval(eval_id, api_key=api_key, critic_api_key=critic_api_key, db=db, as_json=as_json,
                role_api_keys=role_api_key, executor=executor, ray_address=ray_address, actors=actors,
                per_actor=per_actor)


@evals_app.command("report")
def evals_report(eval_id: EvalId, html: Html = None, db: o.Db = None, as_json: o.Json = False) -> None:
    """Show an evaluation's comparison table; optionally write the HTML report."""
    report_eval(eval_id, html, db, as_json)


@evals_app.command("export")
def evals_export(
    eval_id: EvalId,
    inspect_dir: Annotated[Path | None, typer.Option(
        "--inspect", help="Write Inspect logs here (one .eval per strategy) for `inspect view` "
                          "(the [inspect] extra).")] = None,
    db: o.Db = None,
) -> None:
    """Export an evaluation for another tool: Inspect logs with `--inspect DIR`."""
    with user_errors():
        if inspect_dir is None:
            raise UsageError("give --inspect DIR (for training data from runs, see `redraft export`)")
        with needs_extra("redraft evals export --inspect", "inspect", "inspect_ai"):
            from redraft.integrations.inspect_log import export_inspect
        paths = export_inspect(RunStore(db), eval_id, inspect_dir)
    for path in paths:
        stdout.print(str(path), markup=False, highlight=False, soft_wrap=True)
    stderr.print(f"view: inspect view --log-dir {inspect_dir}", markup=False, highlight=False)


@app.command(hidden=True)
def report(eval_id: EvalId, html: Html = None, db: o.Db = None, as_json: o.Json = False) -> None:
    """Old spelling of `redraft evals report`."""
    renamed("report", "evals report")
    report_eval(eval_id, html, db, as_json)


def list_evals(limit: int, db: Path | None, as_json: bool) -> None:
    """One line per evaluation (or a JSON list), newest first."""
    with user_errors():
        records = EvalStore(RunStore(db)).recent(limit)
    if as_json:
        typer.echo(json.dumps([r.model_dump() for r in records]))
        return
    for r in records:
        stdout.print(f"{r.id}  {r.created_at[:19]}  {r.status:<11} {r.task}  {', '.join(r.strategies)}",
                     markup=False, highlight=False)


def report_eval(eval_id: str, html: Path | None, db: Path | None, as_json: bool) -> None:
    """An evaluation's comparison table (or JSON); with `html`, also the HTML report."""
    with user_errors():
        store = RunStore(db)
        summary, items = summarize(store, eval_id)
        replication = ReplicationStore(store).of_eval(summary.eval.id)
        if html is not None:
            from redraft.report.html import render_html

            html.write_text(render_html(summary, items, store), encoding="utf-8")
    if as_json:
        part_of = None if replication is None else {"id": replication.id, "study": replication.study}
        typer.echo(json.dumps({**summary.to_json(), "replication": part_of}))
    else:
        render_table(summary, stdout)
        if replication is not None:
            stdout.print(f"part of replication {replication.id} (study {replication.study} on "
                         f"{replication.task}): redraft replications show {replication.id}",
                         markup=False, highlight=False)
    if html is not None:
        stderr.print(f"wrote {html}", markup=False, highlight=False)

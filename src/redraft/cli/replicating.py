"""`redraft replicate STUDY --task T` (a paper's claims, rerun on your model) and `--list`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from redraft.cli import options as o
from redraft.cli.app import app, stderr, stdout, user_errors
from redraft.cli.evaluating import failed_items
from redraft.cli.signals import run_interruptible
from redraft.errors import UsageError
from redraft.runs.evaluation import Evaluation
from redraft.runs.store import RunStore
from redraft.studies import STUDIES, StudyContext, StudyResult, get_study, study_info


@app.command("replicate")
def replicate(
    study: Annotated[str | None, typer.Argument(help="The study (see `redraft replicate --list`).")] = None,
    list_studies: Annotated[bool, typer.Option("--list", help="List the studies and their claims.")] = False,
    task: o.TaskSpec = None,
    model: o.Model = None,
    base_url: o.BaseUrl = None,
    api_key: o.ApiKey = None,
    critic_model: o.CriticModel = None,
    critic_base_url: o.CriticBaseUrl = None,
    critic_api_key: o.CriticApiKey = None,
    role: o.Roles = [],  # noqa: B006
    role_api_key: o.RoleApiKeys = [],  # noqa: B006
    limit: Annotated[int | None, typer.Option(help="Only the first N problems.")] = None,
    seed: Annotated[int | None, typer.Option(help="Sampling seed (samples get seed+i).")] = None,
    concurrency: Annotated[int, typer.Option(help="Problems in flight.")] = 4,
    temperature: Annotated[float, typer.Option(
        help="Default temperature; 0 (the default) lets the evaluations share first drafts through "
             "the cache.")] = 0.0,
    max_tokens: Annotated[int, typer.Option(help="Max completion tokens per call.")] = 512,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not reuse cached responses.")] = False,
    retries: o.Retries = 4,
    timeout: o.Timeout = 120.0,
    db: o.Db = None,
    as_json: o.Json = False,
) -> None:
    """Rerun a paper's claims about self-correction on your model: each claim, the paper's number,
    yours with its 95% interval, and a verdict (reproduced, contradicted, inconclusive at this n)."""
    if list_studies:
        list_all(as_json)
        return
    with user_errors():
        if study is None:
            raise UsageError("name a study (see `redraft replicate --list`)")
        if task is None:
            raise UsageError("give --task (e.g. --task gsm8k)")
        chosen = get_study(study)
        o.check_counts(positive={"limit": limit, "concurrency": concurrency, "max_tokens": max_tokens,
                                 "timeout": timeout}, non_negative={"retries": retries})
        configs = o.role_configs(model=model, base_url=base_url, api_key=api_key,
                                 critic_model=critic_model, critic_base_url=critic_base_url,
                                 critic_api_key=critic_api_key, timeout=timeout, retries=retries,
                                 roles=role, role_api_keys=role_api_key)
        store = RunStore(db)

        def started(evaluation: Evaluation) -> None:
            stderr.print(f"{chosen.name}: eval {evaluation.eval_id}: {len(evaluation.pending())} items "
                         f"({', '.join(evaluation.config.strategies)})", markup=False, highlight=False)

        context = StudyContext(task, store, limit=limit, generator=configs.pop("generator"), roles=configs,
                               seed=seed, temperature=temperature, max_tokens=max_tokens,
                               concurrency=concurrency, cache=not no_cache, on_start=started)
        result = run_interruptible(chosen.run(context))
    if as_json:
        typer.echo(json.dumps(result.to_json()))
    else:
        render_study(result)
    for eval_id in result.eval_ids:
        failed_items(store, eval_id)


def list_all(as_json: bool) -> None:
    with user_errors():
        infos = [study_info(cls) for _, cls in STUDIES.items()]
    if as_json:
        typer.echo(json.dumps(infos))
        return
    table = Table("study", "strategies", "claims", "paper")
    for info in infos:
        claims = "\n".join(f"{c['effect']} {c['direction']} 0" for c in info["claims"])
        table.add_row(info["name"], escape("\n".join(info["strategies"])), escape(claims),
                      escape(info["paper"]))
    stdout.print(table)


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.1f}"


def render_study(result: StudyResult) -> None:
    """The claims table: each claim, the paper's number (cited), ours with its 95% interval, the verdict."""
    table = Table("claim", "paper (cited)", "measured", "points [95% CI]", "n", "p", "verdict",
                  "n to decide", title=escape(f"{result.study} on {result.task}: {result.paper}"))
    for claim in result.claims:
        mark = " †" if claim.oracle_conditioned else ""
        for f in [f for f in result.findings if f.claim == claim.id]:
            verdict = f.verdict_label if f.headline else f"({f.verdict_label})"
            needed = "" if f.verdict != "inconclusive" else ("≈" + str(f.n_needed) if f.n_needed else
                                                             "nothing measured" if f.n == 0 else
                                                             "none: effect 0" if f.effect == 0 else
                                                             "none: no spread")
            interval = (f"{percent(f.effect)} [{percent(f.ci_low)}, {percent(f.ci_high)}]"
                        if f.effect is not None else "–")
            label = f"{claim.text}{mark}\n{claim.effect} {claim.direction} 0" if f.headline else ""
            paper = f"{claim.paper_figure}\n({claim.citation})" if f.headline else ""
            table.add_row(escape(label), escape(paper), escape(f.subject), interval, str(f.n),
                          "–" if f.p_value is None else f"{f.p_value:.3g}", verdict, needed)
    stdout.print(table)
    if any(c.oracle_conditioned for c in result.claims):
        stdout.print("† oracle-conditioned: measured with oracle stopping, which reads the reference "
                     "answer; an upper bound, not a method", markup=False, highlight=False)
    for note in result.notes:
        stdout.print(note, markup=False, highlight=False, style="dim")
    stdout.print(f"cache: {result.cache.describe()}", markup=False, highlight=False)
    for eval_id in result.eval_ids:
        stdout.print(f"evaluation {eval_id}: redraft evals show {eval_id} (or evals report {eval_id} --html "
                     "report.html)", markup=False, highlight=False)

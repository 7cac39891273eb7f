"""`redraft replications list|show|report`: recorded studies, read back without rerunning anything.

A replication is one run of `redraft replicate STUDY` (as an evaluation is one run of `redraft eval`):
its settings, its evaluations and its result are in the run store, so its claims table and its HTML
report are shown again from what was recorded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from redraft.cli import options as o
from redraft.cli.app import app, stdout, user_errors
from redraft.cli.replicating import Html, check_html_target, render_study, write_html
from redraft.runs.replication_store import ReplicationRecord, ReplicationStore
from redraft.runs.store import RunStore
from redraft.studies.recorded import load

replications_app = typer.Typer(
    help="Recorded studies (runs of `redraft replicate`): list, show, report.", pretty_exceptions_enable=False
)
app.add_typer(replications_app, name="replications")

ReplicationId = Annotated[str, typer.Argument(help="Replication id (or a unique prefix).")]
Limit = Annotated[int, typer.Option("--limit", "-n", help="How many, newest first.")]


@replications_app.command("list")
def replications_list(limit: Limit = 20, db: o.Db = None, as_json: o.Json = False) -> None:
    """List recorded studies, newest first."""
    with user_errors():
        records = ReplicationStore(RunStore(db)).recent(limit)
    if as_json:
        typer.echo(json.dumps([summary(r) for r in records]))
        return
    for r in records:
        verdicts = ", ".join(f"{claim} {verdict}" for claim, verdict in headline_verdicts(r))
        stdout.print(
            f"{r.id}  {r.created_at[:19]}  {r.status:<11} {r.study} on {r.task}  {verdicts or '(no result)'}",
            markup=False,
            highlight=False,
        )


@replications_app.command("show")
def replications_show(replication_id: ReplicationId, db: o.Db = None, as_json: o.Json = False) -> None:
    """Print a recorded study's claims table again (or its record and result as JSON)."""
    show(replication_id, None, db, as_json)


@replications_app.command("report")
def replications_report(
    replication_id: ReplicationId, html: Html = None, db: o.Db = None, as_json: o.Json = False
) -> None:
    """Print a recorded study's claims table; with --html, write its report (claims, figures)."""
    show(replication_id, html, db, as_json)


def show(replication_id: str, html: Path | None, db: Path | None, as_json: bool) -> None:
    with user_errors():
        store = RunStore(db)
        replication = load(store, replication_id)
        result = replication.finished()
        if html is not None:
            check_html_target(html)
            write_html(html, replication, store)
    if as_json:
        typer.echo(json.dumps(replication.record.model_dump(mode="json")))
        return
    record = replication.record
    models = ", ".join(f"{role} {model}" for role, model in (record.settings.get("models") or {}).items())
    stdout.print(
        f"replication {record.id}, {record.created_at[:19]}, {record.status}: {record.study} on "
        f"{record.task}, limit {record.settings.get('limit')}, seed {record.settings.get('seed')}"
        + (f"; {models}" if models else ""),
        markup=False,
        highlight=False,
    )
    render_study(result)


def summary(record: ReplicationRecord) -> dict[str, object]:
    """A list entry: the record without its full result, and the headline verdicts."""
    data = record.model_dump(mode="json", exclude={"result"})
    data["verdicts"] = dict(headline_verdicts(record))
    return data


def headline_verdicts(record: ReplicationRecord) -> list[tuple[str, str]]:
    findings = (record.result or {}).get("findings", [])
    return [(f["claim"], f["verdict"]) for f in findings if f.get("headline", True)]

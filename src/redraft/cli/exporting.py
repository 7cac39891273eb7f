"""`redraft export`: recorded runs and evaluations become a TRL dataset and its data card."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Annotated

import typer

from redraft.cli import options as o
from redraft.cli.app import app, user_errors
from redraft.errors import UsageError


@app.command("export")
def export(
    ids: Annotated[list[str], typer.Argument(help="Evaluation or run ids (or unique prefixes).")],
    format: Annotated[
        str,
        typer.Option(
            "--format",
            help="sft, correction, intrinsic, dpo, kto, critique, prm, grpo, aggregate, confidence.",
        ),
    ],
    out: Annotated[
        Path, typer.Option("--out", help="The JSONL file to write (FILE.card.md/.json beside it).")
    ],
    all_labels: Annotated[
        bool,
        typer.Option(
            "--all-labels", help="Keep rows labelled by a critic's verdict too (default: verified only)."
        ),
    ] = False,
    include_oracle: Annotated[
        bool,
        typer.Option("--include-oracle", help="Keep rows written after feedback that saw the reference."),
    ] = False,
    strategy: Annotated[list[str], typer.Option("--strategy", help="Only runs of this strategy.")] = [],  # noqa: B006
    model: Annotated[list[str], typer.Option("--model", help="Only candidates of this model.")] = [],  # noqa: B006
    max_round: Annotated[int | None, typer.Option(help="Only candidates up to this round.")] = None,
    max_chars: Annotated[int | None, typer.Option(help="Drop rows longer than this.")] = None,
    no_dedup: Annotated[bool, typer.Option("--no-dedup", help="Keep duplicate rows.")] = False,
    exclude_problems: Annotated[
        Path | None,
        typer.Option(help="A file of problem ids (one per line) to leave out: the ones you evaluate on."),
    ] = None,
    dpo_level: Annotated[str, typer.Option(help="dpo: answer, correction or both.")] = "both",
    db: o.Db = None,
) -> None:
    """Turn recorded traces into training data for self-correction, in TRL's formats."""
    with user_errors():
        from redraft.export.card import contamination, write_card
        from redraft.export.formats import FORMATS, ExportOptions, export_rows
        from redraft.export.traces import read_traces
        from redraft.runs.store import RunStore

        if format not in FORMATS:
            raise UsageError(f"--format {format!r}: choose from {', '.join(FORMATS)}")
        if dpo_level not in ("answer", "correction", "both"):
            raise UsageError("--dpo-level must be answer, correction or both")
        o.check_counts(positive={"max_chars": max_chars}, non_negative={"max_round": max_round or 0})
        excluded: set[str] = set()
        if exclude_problems is not None:
            excluded = {line.strip() for line in exclude_problems.read_text().splitlines() if line.strip()}
        options = ExportOptions(
            format=format,
            verified_only=not all_labels,
            include_oracle=include_oracle,
            strategies=strategy,
            models=model,
            max_round=max_round,
            max_chars=max_chars,
            dedup=not no_dedup,
            exclude_problems=excluded,
            dpo_level=dpo_level,
        )
        store = RunStore(db)
        rows, stats = export_rows(read_traces(store, ids), options)
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("w") as file:
            for row in rows:
                file.write(json.dumps(row, ensure_ascii=False) + "\n")
        command = shlex.join(
            [
                "redraft",
                "export",
                *ids,
                "--format",
                format,
                "--out",
                str(out),
                *(["--all-labels"] if all_labels else []),
                *(["--include-oracle"] if include_oracle else []),
                *[a for s in strategy for a in ("--strategy", s)],
                *[a for m in model for a in ("--model", m)],
                *(["--max-round", str(max_round)] if max_round is not None else []),
                *(["--max-chars", str(max_chars)] if max_chars is not None else []),
                *(["--no-dedup"] if no_dedup else []),
                *(["--exclude-problems", str(exclude_problems)] if exclude_problems else []),
                *(["--dpo-level", dpo_level] if dpo_level != "both" else []),
                *(["--db", str(db)] if db else []),
            ]
        )
        card, _ = write_card(out, options, stats, sources=ids, command=command)
        warning = contamination(stats)
        if warning:
            typer.echo(f"warning: {warning}", err=True)
        typer.echo(
            f"{stats.rows} {format} rows -> {out} (card: {card}); dropped {stats.dropped_duplicates} "
            f"duplicates, {stats.dropped_near_duplicates} near duplicates, {stats.dropped_too_long} too long",
            err=True,
        )

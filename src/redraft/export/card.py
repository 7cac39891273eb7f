"""The data card written beside every export: what the rows are made of, and where they came from.

A reader of FILE.jsonl should not have to trust it blindly: the card says how many rows, which
label sources, strategies, models, tasks and splits, how much is oracle-conditioned, what
deduplication dropped, the redraft version and the exact command; and it warns when the rows
come from a benchmark's test split, since training on them contaminates every later evaluation.
"""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from redraft.export.formats import ExportOptions, ExportStats


def redraft_version() -> str:
    try:
        return version("redraft")
    except PackageNotFoundError:
        return "unknown"


def contamination(stats: ExportStats) -> str | None:
    tests = stats.splits.get("test", 0)
    if not tests:
        return None
    return (
        f"{tests} of {stats.rows} rows come from a benchmark's test split "
        f"({', '.join(t for t in stats.tasks if t != 'none')}): a model trained on them cannot be "
        "evaluated on that benchmark afterwards. Exclude the problems you evaluate on with "
        "--exclude-problems FILE."
    )


def write_card(
    out: Path, options: ExportOptions, stats: ExportStats, *, sources: list[str], command: str
) -> tuple[Path, Path]:
    card: dict[str, Any] = {
        "file": out.name,
        "format": options.format,
        "rows": stats.rows,
        "sources": sources,
        "options": options.model_dump(mode="json", exclude={"exclude_problems"}),
        "excluded_problems": len(options.exclude_problems),
        "stats": stats.model_dump(),
        "oracle_share": round(stats.oracle_rows / stats.rows, 4) if stats.rows else 0.0,
        "contamination": contamination(stats),
        "redraft_version": redraft_version(),
        "command": command,
    }
    json_path = out.with_name(out.stem + ".card.json")
    md_path = out.with_name(out.stem + ".card.md")
    json_path.write_text(json.dumps(card, indent=2) + "\n")
    lines = [f"# {out.name}", "", f"`{options.format}` rows for TRL: {stats.rows}.", ""]
    if card["contamination"]:
        lines += [f"**Warning.** {card['contamination']}", ""]
    lines += [
        "| | |",
        "| --- | --- |",
        f"| sources | {', '.join(sources)} |",
        f"| label sources | {_counts(stats.label_sources)} |",
        f"| strategies | {_counts(stats.strategies)} |",
        f"| models | {_counts(stats.models)} |",
        f"| tasks | {_counts(stats.tasks)} |",
        f"| splits | {_counts(stats.splits)} |",
        f"| oracle-conditioned rows | {stats.oracle_rows} ({card['oracle_share']:.1%}) |",
        f"| dropped: exact duplicates | {stats.dropped_duplicates} |",
        f"| dropped: near duplicates (case, spacing) | {stats.dropped_near_duplicates} |",
        f"| dropped: over --max-chars | {stats.dropped_too_long} |",
        f"| excluded problems | {len(options.exclude_problems)} |",
        f"| verified only | {options.verified_only} |",
        f"| redraft | {card['redraft_version']} |",
        "",
        "Command:",
        "",
        f"    {command}",
        "",
    ]
    md_path.write_text("\n".join(lines))
    return md_path, json_path


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])) or "none"

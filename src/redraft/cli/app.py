"""The `redraft` command: a thin layer over the library.

Verbs do things: `redraft run PROMPT`, `redraft eval`, `redraft judge`. Nouns hold what was
recorded, each with its verbs: `redraft runs list|show`, `redraft evals list|show|resume|report`;
`redraft replicate STUDY` reruns a paper's claims, `redraft replications list|show|report` reads
them back. The listings `strategies`, `tasks`, `feedback` stay.
A failure the user can fix (a `RedraftError`: a missing model, an unreachable endpoint, a bad
parameter; or a path error) prints one line on stderr and exits 1; anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import contextlib
import sqlite3
import sys
from collections.abc import Iterator

import typer
from rich.console import Console

from redraft.cli.signals import Interrupted
from redraft.errors import RedraftError, is_store_problem
from redraft.redact import redact

app = typer.Typer(
    help="Draft, get feedback, redraft: self-refinement strategies for any LLM, traced.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
runs_app = typer.Typer(help="Recorded runs: list them, show one.", pretty_exceptions_enable=False)
evals_app = typer.Typer(help="Evaluations: list, show, resume, report, export.",
                        pretty_exceptions_enable=False)
app.add_typer(runs_app, name="runs")
app.add_typer(evals_app, name="evals")

# Piped output is not squeezed into 80 columns: tables stay readable in logs and CI.
stdout = Console(width=None if sys.stdout.isatty() else 160)
stderr = Console(stderr=True)

# What a user can fix; OSError covers unreadable files and unwritable paths.
KNOWN_ERRORS = (RedraftError, OSError)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the failures a user can fix into one line on stderr and exit code 1.

    Anything else (a ValueError, a KeyError, ...) is a bug: it propagates with its traceback.
    """
    try:
        yield
    except Interrupted as exc:  # SIGINT, SIGTERM: the shell's exit code for the signal
        typer.echo(f"{exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except sqlite3.DatabaseError as exc:  # a store gone read-only or full mid-run is the user's
        if not is_store_problem(exc):
            raise
        typer.echo(f"error: run store: {exc}", err=True)
        raise typer.Exit(1) from None
    except KNOWN_ERRORS as exc:
        typer.echo(f"error: {redact(str(exc))}", err=True)  # no key or URL password, ever
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None


def renamed(old: str, new: str) -> None:
    """Tell on stderr (stdout stays parseable) that an old spelling has a new one."""
    typer.echo(f"note: 'redraft {old}' is now 'redraft {new}'", err=True)


def main() -> None:
    from redraft.cli import (  # noqa: F401  (register the commands)
        evaluating,
        exporting,
        listing,
        replicating,
        replications,
        routing,
        running,
        serving,
        training,
    )

    app()

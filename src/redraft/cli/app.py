"""The `redraft` command: a thin layer over the library.

Subcommands read like sentences: `redraft run PROMPT`, `redraft judge`,
`redraft strategies`, `redraft tasks`, `redraft runs`, `redraft show RUN_ID`.
Known failures (a missing model, an unreachable endpoint, a bad parameter)
print one line on stderr and exit 1.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import typer
from rich.console import Console

from redraft.errors import RedraftError
from redraft.models.base import ModelError
from redraft.runs.store import RunNotFound
from redraft.strategies.base import StrategyError

app = typer.Typer(
    help="Draft, get feedback, redraft: self-refinement strategies for any LLM, traced.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Piped output is not squeezed into 80 columns: tables stay readable in logs and CI.
stdout = Console(width=None if sys.stdout.isatty() else 160)
stderr = Console(stderr=True)

# TaskError and FeedbackError are ValueErrors; OSError covers unreadable files.
KNOWN_ERRORS = (RedraftError, ModelError, StrategyError, RunNotFound, ValueError, OSError)


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


def main() -> None:
    from redraft.cli import evaluating, listing, running  # noqa: F401  (register the commands)

    app()

"""The one base for every error a user can fix, so the CLI knows which failures are theirs.

The CLI turns a `RedraftError` (and a path error) into one line on stderr; anything else
is a programming bug and keeps its traceback. A leaf module: it imports nothing of redraft.
"""

from __future__ import annotations


class RedraftError(Exception):
    """A failure the user can act on: bad input, a missing model or extra, an unreachable endpoint."""


class UsageError(RedraftError, ValueError):
    """Options that do not go together, or a required one that is missing."""


class MissingExtra(RedraftError, ImportError):
    """A feature whose optional dependencies are not installed; the message names the extra."""

    def __init__(self, feature: str, extra: str) -> None:
        super().__init__(f"{feature} needs the [{extra}] extra: pip install 'redraft[{extra}]'")
        self.extra = extra

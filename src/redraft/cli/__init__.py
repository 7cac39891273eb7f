"""The `redraft` command line."""

from redraft.cli.app import app, main

__all__ = ["app", "main"]

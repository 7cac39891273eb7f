"""What Inspect loads from redraft's `inspect_ai` entry point: the solvers and the model provider.

Inspect imports this module the first time a name under `redraft/` is looked up (`--solver
redraft/self_refine`, `--model redraft/...`), so nothing of Inspect is imported by redraft's core
and nothing of redraft by Inspect until a redraft name is used.
"""

from __future__ import annotations

from redraft.integrations import inspect_provider  # noqa: F401  (registers the `redraft` model API)
from redraft.integrations.inspect_solvers import register_all

SOLVERS = register_all()

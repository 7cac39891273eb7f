"""Optional dependencies: each feature beyond the core imports its packages lazily through here.

The core (`pip install redraft`) talks to OpenAI-compatible endpoints only. The embedded
model, the HTML report and HumanEval live in extras (`local`, `report`, `code`); importing
them when they are not installed raises `MissingExtra`, which names the extra to install,
and the CLI prints as one line.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Iterator

from redraft.errors import MissingExtra

__all__ = ["MissingExtra", "is_installed", "needs_extra", "require"]


def is_installed(module: str) -> bool:
    """Whether `module` can be imported, without importing it (a module set to None is hidden)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module without a spec
        return False


def require(feature: str, extra: str, *modules: str) -> None:
    """Raise `MissingExtra` unless every one of `modules` is importable."""
    if not all(is_installed(module) for module in modules):
        raise MissingExtra(feature, extra)


@contextlib.contextmanager
def needs_extra(feature: str, extra: str, *modules: str) -> Iterator[None]:
    """Turn a failed import of one of `modules` (or a submodule) inside the block into `MissingExtra`.

    Any other missing module, e.g. a dependency of an installed package, is left alone:
    that is a broken installation, not a missing extra.
    """
    try:
        yield
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] in modules:
            raise MissingExtra(feature, extra) from exc
        raise

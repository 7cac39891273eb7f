"""Studies by name, registered like strategies; outside packages add theirs through the
entry-point group `redraft.studies` (a module that registers, or a `Study` class)."""

from __future__ import annotations

from typing import Any

from redraft.errors import UsageError
from redraft.spec import Registry
from redraft.studies.base import Study


class StudyError(UsageError):
    """An unknown study, or one whose plugin failed to load."""


STUDIES: Registry[type[Study]] = Registry("study", "redraft.studies", StudyError)
register = STUDIES.register


def get_study(name: str) -> Study:
    return STUDIES.get(name)()


def study_info(cls: type[Study]) -> dict[str, Any]:
    """What `redraft replicate --list` shows: name, paper, summary, strategies and claims."""
    return {"name": cls.name, "paper": cls.paper, "summary": cls.summary,
            "strategies": list(cls.strategies), "claims": [c.model_dump() for c in cls.claims]}

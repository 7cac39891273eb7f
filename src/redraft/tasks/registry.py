"""Turning a task spec (`gsm8k`, `jsonl:my.jsonl[question=problem]`) into a `Task`.

One parser for the CLI, the API and run records, so a spec written in a run's metadata
can always be turned back into the same task. The listing is derived from the registry
(built-ins and plugins), never kept by hand.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from redraft.spec import SpecError, params_info, validate_params
from redraft.tasks.base import TASKS, Task, TaskError

TASKS.alias("math_jsonl", "jsonl")


class TaskInfo(BaseModel):
    """What `list_tasks` shows: enough to choose a task and write its spec."""

    name: str
    description: str
    spec: str
    answer_type: str
    size: int | None = None
    needs_path: bool = False
    judge: str | None = None
    params: dict[str, dict[str, Any]] = {}


def get_task(spec: str) -> Task:
    """The task a spec names: a built-in name, or `kind:PATH[field=name,...]` for a user file.

    Raises TaskError listing the valid tasks for an unknown name, and for a path task
    without a path (or a built-in given one). A missing file is only reported when the
    task is loaded, so specs can be checked before files exist.
    """
    try:
        cls, parsed = TASKS.resolve(spec.strip())
    except SpecError as exc:
        valid = ", ".join(TASKS.show(name, cls) for name, cls in TASKS.items())
        raise TaskError(f"{exc}; valid tasks: {valid}") from None
    if cls.open_params:
        return cls.from_raw_spec(parsed.arg, parsed.params)
    params = validate_params(f"task {cls.name}", cls.Params, parsed.params, TaskError)
    return cls.from_spec(parsed.arg, params)


def list_tasks() -> list[TaskInfo]:
    """Every kind of task, with its size when known without a path (None if unavailable)."""
    infos: list[TaskInfo] = []
    for name, cls in TASKS.items():
        size = None
        if not cls.needs_path:
            try:
                size = cls().size()
            except TaskError:
                size = None  # data folder or package missing: still list the task
        infos.append(TaskInfo(
            name=name, description=cls.description,
            spec=f"{name}:{cls.arg_name}" if cls.needs_path else name,
            answer_type=cls.answer_type, size=size, needs_path=cls.needs_path,
            judge=cls.graded_by,
            params=params_info(cls.Params)))
    return infos

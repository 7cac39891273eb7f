"""Turning a task spec string ("gsm8k", "jsonl:my.jsonl") into a `Task`.

One parser for the CLI, the API and run records, so a spec written in a run's
metadata can always be turned back into the same task.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from redraft.tasks.arithmetic import GSM8K, MultiArith
from redraft.tasks.base import Task, TaskError
from redraft.tasks.humaneval import HumanEval
from redraft.tasks.userdata import JsonlTask, MathJsonlTask, MultipleChoiceTask, OpenEndedTask

BUILTIN: dict[str, Callable[[], Task]] = {
    "gsm8k": GSM8K,
    "multiarith": MultiArith,
    "humaneval": HumanEval,
}
WITH_PATH: dict[str, type[JsonlTask]] = {
    "jsonl": MathJsonlTask,
    "math_jsonl": MathJsonlTask,
    "multiple_choice": MultipleChoiceTask,
    "open_ended": OpenEndedTask,
}


class TaskInfo(BaseModel):
    """What `list_tasks` shows: enough to choose a task and write its spec."""

    name: str
    description: str
    spec: str
    answer_type: str
    size: int | None = None
    needs_path: bool = False


def _valid_specs() -> str:
    return ", ".join([*BUILTIN, *(f"{name}:PATH" for name in WITH_PATH)])


def get_task(spec: str) -> Task:
    """The task a spec names: a built-in name, or `kind:PATH` for a user file.

    Raises TaskError listing the valid specs for an unknown name, and for a
    path task without a path (or a built-in given one). A missing file is only
    reported when the task is loaded, so specs can be checked before files exist.
    """
    text = spec.strip()
    name, sep, arg = text.partition(":")
    key = name.strip().lower()
    if key in BUILTIN:
        if sep:
            raise TaskError(f"task {key!r} takes no path (got {spec!r})")
        return BUILTIN[key]()
    if key in WITH_PATH:
        if not arg.strip():
            raise TaskError(f"task {key!r} needs a file: use {key}:PATH")
        return WITH_PATH[key](Path(arg.strip()))
    raise TaskError(f"unknown task {spec!r}; valid tasks: {_valid_specs()}")


def list_tasks() -> list[TaskInfo]:
    """Every kind of task, with its size when known without a path (None if unavailable)."""
    infos: list[TaskInfo] = []
    for key, factory in BUILTIN.items():
        task = factory()
        try:
            size = task.size()
        except TaskError:
            size = None  # data folder or package missing: still list the task
        infos.append(
            TaskInfo(name=key, description=task.description, spec=key,
                     answer_type=task.answer_type, size=size)
        )
    for key, cls in WITH_PATH.items():
        if key == "math_jsonl":
            continue  # an alias of "jsonl"
        infos.append(
            TaskInfo(name=key, description=cls.description, spec=f"{key}:PATH",
                     answer_type=cls.answer_type, needs_path=True)
        )
    return infos

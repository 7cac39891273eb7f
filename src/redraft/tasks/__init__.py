"""Benchmarks and user datasets: loading problems, reading answers, scoring them.

`get_task("gsm8k")` / `get_task("jsonl:my.jsonl")` build a task; the extractors
in `redraft.tasks.extract` are usable on their own (e.g. to vote on answers).
"""

from redraft.tasks.arithmetic import GSM8K, MultiArith, NumericTask
from redraft.tasks.base import Problem, Score, Task, TaskError
from redraft.tasks.data import data_dir
from redraft.tasks.extract import (
    extract_choice,
    extract_code,
    extract_math,
    extract_number,
    last_boxed,
    numbers_equal,
    parse_number,
)
from redraft.tasks.humaneval import HumanEval, build_program
from redraft.tasks.mathcheck import math_equal
from redraft.tasks.registry import TaskInfo, get_task, list_tasks
from redraft.tasks.userdata import MathJsonlTask, MultipleChoiceTask, OpenEndedTask

__all__ = [
    "GSM8K", "HumanEval", "MathJsonlTask", "MultiArith", "MultipleChoiceTask", "NumericTask",
    "OpenEndedTask", "Problem", "Score", "Task", "TaskError", "TaskInfo", "build_program",
    "data_dir", "extract_choice", "extract_code", "extract_math", "extract_number", "get_task",
    "last_boxed", "list_tasks", "math_equal", "numbers_equal", "parse_number",
]

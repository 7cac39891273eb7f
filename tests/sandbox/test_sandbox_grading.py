"""run_tests (HumanEval style) and run_test_cases (assert lists) and their feedback text."""

from __future__ import annotations

import asyncio

from redraft.sandbox import SandboxLimits, TestCaseResult, run_test_cases, run_tests

PROMPT_TESTS = """
METADATA = {"author": "inline", "dataset": "test"}


def check(candidate):
    assert candidate([]) == []
    assert candidate([3, 2, 1]) == [4, 3, 2]
    assert candidate([5, 2, 5]) == [6, 3, 6]
"""
CORRECT = "def incr_list(l: list):\n    return [x + 1 for x in l]\n"
OFF_BY_ONE = "def incr_list(l: list):\n    return [x + 2 for x in l]\n"
CRASHING = "def incr_list(l: list):\n    return [x + 1 for x in l[1]]\n"


def cases(program: str, asserts: list[str], **kwargs) -> list[TestCaseResult]:
    return asyncio.run(run_test_cases(program, asserts, **kwargs))


def test_humaneval_correct_solution_passes() -> None:
    result = asyncio.run(run_tests(CORRECT, PROMPT_TESTS, entry_point="incr_list"))
    assert result.passed and result.status == "ok"


def test_humaneval_wrong_solution_names_the_actual_value() -> None:
    result = asyncio.run(run_tests(OFF_BY_ONE, PROMPT_TESTS, entry_point="incr_list"))
    assert not result.passed and result.status == "error"
    assert result.message == (
        "assert candidate([3, 2, 1]) == [4, 3, 2] failed: candidate([3, 2, 1]) returned [5, 4, 3]"
    )


def test_humaneval_crash_points_into_the_solution() -> None:
    result = asyncio.run(run_tests(CRASHING, PROMPT_TESTS, entry_point="incr_list"))
    assert not result.passed
    assert "IndexError" in result.message and "solution" in result.message


def test_humaneval_hang_is_a_timeout() -> None:
    hang = "def incr_list(l):\n    while True:\n        pass\n"
    limits = SandboxLimits(wall_time_s=1)
    result = asyncio.run(run_tests(hang, PROMPT_TESTS, entry_point="incr_list", limits=limits))
    assert not result.passed and result.status == "timeout"
    assert result.message == "wall-clock limit of 1s exceeded"


def test_tests_without_entry_point_run_their_own_asserts() -> None:
    result = asyncio.run(run_tests(CORRECT, "assert incr_list([1]) == [3]"))
    assert not result.passed
    assert "assert incr_list([1]) == [3] failed" in result.message


ADD = "def add(a, b):\n    print('adding', a, b)\n    return a + b if a < 5 else a - b\n"


def test_cases_report_actual_values() -> None:
    results = cases(
        ADD,
        [
            "assert add(1,2)==3",
            "assert add(1,2)==4",
            "assert add(7, 1) == add(1, 7)",
            "add(1, 1) == 2",
            "assert not add(2, -2)",
            "assert add(9, 1) == 10, 'big numbers'",
        ],
    )
    assert [r.passed for r in results] == [True, False, False, True, True, False]
    assert results[0].actual == "3" and results[0].output == "adding 1 2\n"
    assert results[1].message == "assert add(1,2)==4 failed: add(1,2) returned 3"
    assert results[1].actual == "3"
    assert results[2].message.endswith("add(7, 1) returned 6; add(1, 7) returned 8")
    assert "(message: big numbers)" in results[5].message


def test_cases_report_exceptions_with_location() -> None:
    (crash, missing) = cases(ADD, ["assert add(1, 'x') == 1", "assert sub(1, 2) == -1"])
    assert crash.outcome == "error"
    assert "raised TypeError" in crash.message
    assert "solution.py line 3" in crash.message
    assert missing.message == "assert sub(1, 2) == -1 raised NameError: name 'sub' is not defined"


def test_broken_solution_fails_every_case() -> None:
    results = cases("def add(a, b:\n    return a", ["assert add(1, 2) == 3", "assert add(0, 0) == 0"])
    assert all(r.outcome == "error" and "SyntaxError" in r.message for r in results)


def test_hanging_case_times_out_and_later_cases_are_not_run() -> None:
    results = cases(
        "def f():\n    return 1\n",
        ["assert f() == 1", "while True:\n    pass", "assert f() == 1"],
        limits=SandboxLimits(wall_time_s=1),
    )
    assert [r.outcome for r in results] == ["passed", "timeout", "not_run"]


def test_memory_hungry_case_is_an_error_and_others_still_run() -> None:
    results = cases(
        "def f(n):\n    return bytearray(n)\n", ["assert len(f(10 * 1024**3)) > 0", "assert len(f(3)) == 3"]
    )
    assert [r.outcome for r in results] == ["error", "passed"]
    assert "MemoryError" in results[0].message


def test_invalid_case_and_exit_are_reported() -> None:
    results = cases("x = 1\n", ["assert (", "import sys; sys.exit(2)", "assert x == 1"])
    assert [r.outcome for r in results] == ["error", "error", "passed"]
    assert "invalid test" in results[0].message and "exit(2)" in results[1].message


def test_solution_main_block_does_not_run() -> None:
    program = "def f():\n    return 2\n\nif __name__ == '__main__':\n    input()\n"
    assert cases(program, ["assert f() == 2"])[0].passed


def test_literal_on_the_left_shows_the_right_side() -> None:
    (result,) = cases("def is_even(n):\n    return n % 2 == 1\n", ["assert True == is_even(4)"])
    assert result.message == "assert True == is_even(4) failed: is_even(4) returned False"

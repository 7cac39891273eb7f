"""Ordinary programs: output, errors, stdin, files, limits validation, concurrency."""

from __future__ import annotations

import asyncio

import pytest

from redraft.sandbox import Isolation, SandboxError, SandboxLimits, SandboxResult, _detect, run_python


def run(code: str, **kwargs) -> SandboxResult:
    return asyncio.run(run_python(code, **kwargs))


def test_stdout_is_captured() -> None:
    result = run("print('hello')\nprint(6 * 7)")
    assert result.ok and result.status == "ok"
    assert result.stdout == "hello\n42\n"
    assert result.exit_code == 0 and result.signal is None and not result.truncated


def test_exception_is_an_error_with_traceback() -> None:
    result = run("def f():\n    return 1 / 0\nf()")
    assert result.status == "error" and not result.ok
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "ZeroDivisionError" in result.stderr
    assert "ZeroDivisionError" in result.reason


def test_syntax_error() -> None:
    result = run("def f(:\n    pass")
    assert result.status == "error"
    assert "SyntaxError" in result.stderr


def test_exit_code_is_reported() -> None:
    result = run("import sys\nprint('bye')\nsys.exit(3)")
    assert result.status == "error" and result.exit_code == 3 and result.stdout == "bye\n"


def test_output_before_a_timeout_is_kept() -> None:
    result = run("print('started')\nwhile True:\n    pass", limits=SandboxLimits(wall_time_s=1))
    assert result.status == "timeout" and result.stdout == "started\n"


def test_signal_death_is_killed() -> None:
    result = run("import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)")
    assert result.status == "killed"
    assert result.signal == 11 and result.exit_code is None


def test_stdin_is_passed() -> None:
    result = run("a = input()\nb = input()\nprint(int(a) + int(b))", stdin="2\n40\n")
    assert result.stdout == "42\n"


def test_empty_stdin_gives_eof_not_a_hang() -> None:
    result = run("import sys\nprint(repr(sys.stdin.read()))", stdin="", limits=SandboxLimits(wall_time_s=3))
    assert result.status == "ok" and result.stdout == "''\n"


def test_files_are_placed_and_importable() -> None:
    files = {"helper.py": "def double(x):\n    return 2 * x\n", "data/numbers.txt": "1 2 3"}
    code = (
        "import helper\n"
        "nums = open('data/numbers.txt').read().split()\n"
        "print(helper.double(sum(map(int, nums))))"
    )
    result = run(code, files=files)
    assert result.stdout == "12\n", result.stderr


@pytest.mark.parametrize("name", ["../escape.py", "/etc/x", "main.py"])
def test_bad_file_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError):
        run("pass", files={name: "x"})


def test_only_the_standard_library_is_importable() -> None:
    result = run("import json\nimport pydantic")
    assert result.status == "error" and "ModuleNotFoundError" in result.stderr


def test_unicode_round_trips() -> None:
    result = run("print(input()[::-1])", stdin="héllo ✓\n")
    assert result.stdout == "✓ olléh\n"


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError):
        SandboxLimits(wall_time_s=0)


def test_concurrent_runs_are_independent() -> None:
    async def many() -> list[SandboxResult]:
        return await asyncio.gather(*(run_python(f"print({i} ** 2)") for i in range(6)))

    results = asyncio.run(many())
    assert [r.stdout for r in results] == [f"{i**2}\n" for i in range(6)]
    uids = [r.sandbox_uid for r in results if r.sandbox_uid is not None]
    assert len(set(uids)) == len(uids)


def test_result_serialises() -> None:
    result = run("print(1)")
    again = SandboxResult.model_validate_json(result.model_dump_json())
    assert again == result


def test_a_broken_sandbox_raises_instead_of_blaming_the_program(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = Isolation(
        mode="guard", mechanisms=("rlimits",), interpreter="/nonexistent/python", python_version="0"
    )
    monkeypatch.setattr(_detect, "_cached", broken)
    with pytest.raises(SandboxError):
        run("print(1)")

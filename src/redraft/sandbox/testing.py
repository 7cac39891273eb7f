"""Grade a program against tests and say, in words a model can act on, what failed.

Two shapes of test are common in the self-refinement literature: HumanEval's
``check(candidate)`` function (`run_tests`) and MBPP's list of assert strings
(`run_test_cases`). Both run in one sandboxed process per call; the feedback
names the actual value wherever it can ("add(1,2) returned 3"), since an
unexplained "AssertionError" gives the model nothing to reason from.
"""

from __future__ import annotations

import functools
import json
import re
import secrets
from collections.abc import Sequence
from pathlib import Path

from .models import SandboxLimits, SandboxResult, TestCaseResult, TestRunResult
from .runner import run_python

_FRAME = re.compile(r'File "(?:[^"]*/)?main\.py", line (\d+)')
REPR_LIMIT = 300


@functools.cache
def _harness_source() -> str:
    return Path(__file__).with_name("_harness.py").read_text(encoding="utf-8")


async def run_test_cases(
    program: str, asserts: Sequence[str], *, limits: SandboxLimits | None = None
) -> list[TestCaseResult]:
    """Run each assert against ``program`` in one sandboxed process.

    Every case gets its own try/except (no per-case timeout: the run's wall clock
    bounds them all), so one failing case never hides the others. A case that was
    running when the process died is reported as ``timeout`` or ``error``, the ones
    after it as ``not_run``.
    """
    cases = list(asserts)
    marker = f"@@redraft-case-{secrets.token_hex(8)}@@ "
    config = {"marker": marker, "repr_limit": REPR_LIMIT, "cases": cases}
    result = await run_python(
        _harness_source(),
        files={"solution.py": program, "_redraft_cases.json": json.dumps(config)},
        limits=limits,
    )
    records: dict[int, dict] = {}
    load_error = None
    for line in result.stdout.splitlines():
        if not line.startswith(marker):
            continue
        try:
            record = json.loads(line[len(marker) :])
        except json.JSONDecodeError:  # cut by the output cap
            continue
        if "load_error" in record:
            load_error = record["load_error"]
        else:
            records[record["index"]] = record
    out: list[TestCaseResult] = []
    stopped = False  # the case running when the process died is reported once
    for index, src in enumerate(cases):
        if index in records:
            rec = records[index]
            out.append(
                TestCaseResult(
                    test=src,
                    outcome=rec["outcome"],
                    actual=rec.get("actual"),
                    message=rec.get("message", ""),
                    output=rec.get("output", ""),
                )
            )
        elif load_error is not None:
            message = f"{src} not run: the solution failed to load: {load_error}"
            out.append(TestCaseResult(test=src, outcome="error", message=message))
        elif stopped:
            out.append(TestCaseResult(test=src, outcome="not_run", message=f"{src} not run"))
        else:
            out.append(_casualty(src, result))
            stopped = True
    return out


def _casualty(src: str, result: SandboxResult) -> TestCaseResult:
    """The case that was running when the sandbox stopped the process."""
    if result.status == "timeout":
        return TestCaseResult(test=src, outcome="timeout", message=f"{src} timed out ({result.reason})")
    tail = _last_line(result.stderr)
    detail = f"the process ended ({result.status}: {result.reason})"
    if tail and tail not in result.reason:
        detail += f"; {tail}"
    return TestCaseResult(test=src, outcome="error", message=f"{src} did not finish: {detail}")


def _last_line(text: str) -> str:
    return next((ln.strip() for ln in reversed(text.splitlines()) if ln.strip()), "")


async def run_tests(
    program: str,
    test_code: str,
    *,
    entry_point: str | None = None,
    limits: SandboxLimits | None = None,
) -> TestRunResult:
    """Run ``program`` followed by ``test_code`` (HumanEval style) in one process.

    With ``entry_point`` the tests' ``check`` is called on that function; without
    it ``test_code`` must run its own checks (plain asserts, say). When a simple
    assert inside ``check`` fails, it is re-run on its own to name the actual value.
    """
    source = program.rstrip() + "\n\n\n" + test_code.rstrip() + "\n"
    if entry_point:
        source += f"\n\ncheck({entry_point})\n"
    result = await run_python(source, limits=limits)
    if result.ok:
        return TestRunResult(passed=True, status="ok", message="all tests passed", result=result)
    message = _explain(result, source, program.rstrip().count("\n") + 1)
    if entry_point and result.status == "error" and "AssertionError" in _last_line(result.stderr):
        line = _failing_line(result, source)
        if line.startswith("assert ") and line.count("\n") == 0:
            prelude = f"{program.rstrip()}\n\n\n{test_code.rstrip()}\n\ncandidate = {entry_point}\n"
            (case,) = await run_test_cases(prelude, [line], limits=limits)
            if case.outcome == "failed":
                message = case.message
    return TestRunResult(passed=False, status=result.status, message=message, result=result)


def _failing_line(result: SandboxResult, source: str) -> str:
    hits = _FRAME.findall(result.stderr)
    if not hits:
        return ""
    lines = source.splitlines()
    number = int(hits[-1])
    return lines[number - 1].strip() if 0 < number <= len(lines) else ""


def _explain(result: SandboxResult, source: str, program_lines: int) -> str:
    """One line of feedback: what went wrong and where (solution or tests)."""
    if result.status != "error":  # the status is a separate field; say why, not what
        return result.reason
    error = _last_line(result.stderr) or result.reason
    hits = _FRAME.findall(result.stderr)
    if not hits:
        return error
    number = int(hits[-1])
    part = "solution" if number <= program_lines else "tests"
    line = _failing_line(result, source)
    if error == "AssertionError" and line:
        return f"{line} failed (AssertionError, in the {part})"
    return f"{error} (at line {number} of the {part}: {line})"

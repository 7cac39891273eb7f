"""Memory is bounded for the whole run, children included, not per process only.

The numbers stay small (6 x 400 MB, 2.4 GB at most were the bound to fail), so a
regression costs the host a moment of memory, not its health.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from redraft.sandbox import Isolation, SandboxLimits, _cgroup, detect_isolation, run_python, run_tests
from redraft.sandbox._isolation import live_pids_of

FORKING = """
import os
kids = []
for _ in range(6):
    pid = os.fork()
    if pid == 0:
        block = bytearray(400 * 1024 * 1024)
        for i in range(0, len(block), 4096):
            block[i] = 1
        os._exit(0)
    kids.append(pid)
codes = [os.waitpid(pid, 0)[1] for pid in kids]
ALL_ALLOCATED = all(code == 0 for code in codes)
print("all children allocated" if ALL_ALLOCATED else f"children failed: {codes}")
"""
LIMITS = SandboxLimits(memory_mb=512, wall_time_s=20)


def _require_cgroup() -> Isolation:
    isolation = detect_isolation()
    if "cgroup" not in isolation.mechanisms:
        pytest.skip(f"no writable cgroup here ({isolation.mechanisms}); rlimits bound memory per process")
    return isolation


def test_children_share_one_memory_limit() -> None:
    _require_cgroup()
    result = asyncio.run(run_python(FORKING, limits=LIMITS))
    assert "all children allocated" not in result.stdout
    assert result.status == "memory", (result.status, result.reason, result.stdout)
    assert "all processes together" in result.reason
    assert result.memory_bound.startswith("cgroup") and "whole run" in result.memory_bound
    if result.sandbox_uid is not None:
        assert live_pids_of(result.sandbox_uid) == []


def test_a_solution_whose_children_need_more_memory_fails_grading() -> None:
    _require_cgroup()
    program = (
        "def incr_list(l):\n"
        + "".join(f"    {line}\n" for line in FORKING.strip().splitlines())
        + "    return [x + 1 for x in l] if ALL_ALLOCATED else []\n"
    )
    tests = "def check(candidate):\n    assert candidate([1]) == [2]\n"
    result = asyncio.run(run_tests(program, tests, entry_point="incr_list", limits=LIMITS))
    assert not result.passed


def test_a_run_within_the_limit_is_unaffected() -> None:
    result = asyncio.run(run_python("x = bytearray(100 * 1024 * 1024)\nprint(len(x))", limits=LIMITS))
    assert result.status == "ok" and result.stdout == f"{100 * 1024 * 1024}\n"
    assert result.memory_bound


def test_cgroups_are_removed_after_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    _require_cgroup()
    made: list[_cgroup.RunCgroup] = []
    real = _cgroup.create

    def create(*args, **kwargs) -> _cgroup.RunCgroup:
        made.append(real(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(_cgroup, "create", create)
    sleeper = "import os\nos.fork()\nimport time\ntime.sleep(30)"
    asyncio.run(run_python(sleeper, limits=SandboxLimits(wall_time_s=1)))
    assert made
    assert not any(os.path.exists(g.memory_dir) or os.path.exists(g.pids_dir) for g in made)


@pytest.mark.parametrize("forced_mode", ["userns", "guard"], indirect=True)
def test_without_a_cgroup_processes_times_memory_fits_the_host(forced_mode: Isolation) -> None:
    result = asyncio.run(run_python("print(1)", limits=LIMITS))
    assert result.memory_bound.startswith("rlimit:")
    processes = _cgroup.fallback_processes(LIMITS.memory_mb, LIMITS.max_processes)
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    available = next(int(ln.split()[1]) * 1024 for ln in meminfo if ln.startswith("MemAvailable:"))
    assert 1 <= processes <= LIMITS.max_processes
    assert processes == 1 or processes * LIMITS.memory_mb * 1024 * 1024 <= available
    assert f"x {processes} processes" in result.memory_bound

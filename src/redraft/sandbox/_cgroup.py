"""One memory + process budget for a whole run, children included.

RLIMIT_AS bounds each process, so a program that forks six children of 400 MB
each used 2.4 GB under a "512 MB" limit. A cgroup bounds the sum: each run gets
its own child cgroup with the memory limit (swap off) and a pids limit, the
forked child joins it before exec (``join_files``), and the kernel's OOM killer
acts inside it only. cgroup v2 is preferred; a v1 ``memory`` + ``pids``
hierarchy (hybrid hosts, like this project's machines) works the same way.
Where neither is writable, `fallback_processes` keeps RLIMIT_AS x RLIMIT_NPROC
within what the host has free, so the run cannot take the host down.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from dataclasses import dataclass, field

_MB = 1024 * 1024


@dataclass(frozen=True)
class Backend:
    """Where per-run cgroups are created: one directory per controller hierarchy."""

    version: str  # "v2" or "v1"
    memory_parent: str
    pids_parent: str


@dataclass
class RunCgroup:
    """The cgroup(s) of one run; `join_files` are written with the child's pid."""

    backend: Backend
    memory_dir: str
    pids_dir: str
    join_files: list[str] = field(default_factory=list)

    def oom_kills(self) -> int:
        """How many processes the kernel killed for exceeding the run's memory."""
        name = "memory.events" if self.backend.version == "v2" else "memory.oom_control"
        for line in _read(os.path.join(self.memory_dir, name)).splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill" and value.strip().isdigit():
                return int(value)
        return 0

    def peak_bytes(self) -> int | None:
        name = "memory.peak" if self.backend.version == "v2" else "memory.max_usage_in_bytes"
        text = _read(os.path.join(self.memory_dir, name)).strip()
        return int(text) if text.isdigit() else None

    def remove(self, timeout_s: float = 3.0) -> bool:
        """Kill what is left in the cgroup(s) and remove them; True when removed."""
        dirs = list(dict.fromkeys([self.memory_dir, self.pids_dir]))
        deadline = time.monotonic() + timeout_s
        for d in dirs:
            with contextlib.suppress(OSError):
                _write(os.path.join(d, "cgroup.kill"), "1")  # v2, kernel >= 5.14
        while True:
            left = [d for d in dirs if os.path.isdir(d)]
            for d in left:
                for pid in _procs(d):
                    _kill(pid)
                with contextlib.suppress(OSError):
                    os.rmdir(d)
            if not any(os.path.isdir(d) for d in dirs):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)


def _read(path: str) -> str:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _procs(directory: str) -> list[int]:
    return [int(p) for p in _read(os.path.join(directory, "cgroup.procs")).split() if p.isdigit()]


def _kill(pid: int) -> None:
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return
    try:
        signal.pidfd_send_signal(fd, signal.SIGKILL)
    except OSError:
        pass
    finally:
        os.close(fd)


def _mounts() -> list[tuple[str, str, str]]:
    """(mount point, fstype, super options) of every cgroup mount."""
    found = []
    with contextlib.suppress(OSError), open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, tail = left.split(), right.split()
            if len(fields) > 4 and len(tail) >= 3 and tail[0] in ("cgroup", "cgroup2"):
                found.append((fields[4].encode().decode("unicode_escape"), tail[0], tail[2]))
    return found


def _own_paths() -> dict[str, str]:
    """Our cgroup per hierarchy: '' for v2, each v1 controller name otherwise."""
    paths = {}
    for line in _read("/proc/self/cgroup").splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            paths[name] = path
    return paths


def _v2() -> Backend | None:
    own = _own_paths().get("")
    mount = next((m for m, kind, _ in _mounts() if kind == "cgroup2"), None)
    if own is None or mount is None:
        return None
    parent = os.path.normpath(mount + own)
    wanted = {"memory", "pids"}
    if not wanted <= set(_read(os.path.join(parent, "cgroup.controllers")).split()):
        return None
    if not wanted <= set(_read(os.path.join(parent, "cgroup.subtree_control")).split()):
        try:  # fails (EBUSY) while processes live in the parent: we never move them
            _write(os.path.join(parent, "cgroup.subtree_control"), "+memory +pids")
        except OSError:
            return None
    return Backend("v2", parent, parent)


def _v1() -> Backend | None:
    own = _own_paths()
    dirs = {}
    for controller in ("memory", "pids"):
        mount = next(
            (m for m, kind, opts in _mounts() if kind == "cgroup" and controller in opts.split(",")), None
        )
        if mount is None or controller not in own:
            return None
        dirs[controller] = os.path.normpath(mount + own[controller])
    return Backend("v1", dirs["memory"], dirs["pids"])


def create(backend: Backend, memory_mb: int, max_processes: int) -> RunCgroup:
    """A fresh cgroup for one run with the limits set; raises OSError if it cannot."""
    name = f"redraft-sbx-{uuid.uuid4().hex[:12]}"
    memory_dir = os.path.join(backend.memory_parent, name)
    pids_dir = os.path.join(backend.pids_parent, name)
    os.mkdir(memory_dir)
    group = RunCgroup(backend, memory_dir, pids_dir)
    try:
        limit = str(memory_mb * _MB)
        if backend.version == "v2":
            _write(os.path.join(memory_dir, "memory.max"), limit)
            for knob, value in (("memory.swap.max", "0"), ("memory.oom.group", "1")):
                with contextlib.suppress(OSError):
                    _write(os.path.join(memory_dir, knob), value)
            _write(os.path.join(memory_dir, "pids.max"), str(max_processes))
            group.join_files = [os.path.join(memory_dir, "cgroup.procs")]
        else:
            _write(os.path.join(memory_dir, "memory.limit_in_bytes"), limit)
            with contextlib.suppress(OSError):  # absent without swap accounting
                _write(os.path.join(memory_dir, "memory.memsw.limit_in_bytes"), limit)
            os.mkdir(pids_dir)
            _write(os.path.join(pids_dir, "pids.max"), str(max_processes))
            group.join_files = [os.path.join(d, "cgroup.procs") for d in (memory_dir, pids_dir)]
    except OSError:
        group.remove()
        raise
    return group


def detect() -> Backend | None:
    """The first cgroup hierarchy in which we can really create a limited child."""
    for probe in (_v2, _v1):
        try:
            backend = probe()
        except (OSError, ValueError):
            continue
        if backend is None:
            continue
        try:
            create(backend, 64, 8).remove()
        except OSError:
            continue
        return backend
    return None


def join(files: list[str]) -> None:
    """Runs in the forked child before exec (no imports, plain syscalls)."""
    pid = str(os.getpid()).encode()
    for path in files:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, pid)
        finally:
            os.close(fd)


def fallback_processes(memory_mb: int, max_processes: int) -> int:
    """RLIMIT_NPROC so that processes x RLIMIT_AS fits in half the host's free memory."""
    available = 0
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemAvailable:"):
            available = int(line.split()[1]) * 1024
    if not available:
        return max_processes
    return max(1, min(max_processes, available // 2 // (memory_mb * _MB)))

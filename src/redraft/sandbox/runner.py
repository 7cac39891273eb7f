"""Run untrusted Python in a contained child process and report what happened.

The parent owns every limit that cannot be left to the kernel: the wall clock,
the output caps, and the cleanup. Cleanup is unconditional (``finally``): on any
exit path, including cancellation of the awaiting task, the process group and
every process of the run's throwaway uid are killed and the working directory
is removed, so nothing the program started outlives the call.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence

from redraft.errors import RedraftError

from . import _cgroup, _detect
from . import _isolation as iso
from ._detect import PYTHON_FLAGS, detect_isolation, rlimits_for, sandbox_env
from .models import Isolation, SandboxLimits, SandboxResult, Status

MAIN = "main.py"
_BOOT = "_redraft_boot.py"
# Only used when no network namespace could be made: a Python-level socket guard.
# ctypes, subprocess or os.exec* get around it; `Isolation.mode == "guard"` says so.
_BOOT_SOURCE = f"""\
import runpy, socket, sys
_Base = socket.socket
class _GuardedSocket(_Base):
    def __init__(self, family=-1, *args, **kwargs):
        if family in (-1, socket.AF_INET, socket.AF_INET6):
            raise PermissionError("network access is disabled in the redraft sandbox")
        super().__init__(family, *args, **kwargs)
socket.socket = _GuardedSocket
sys.argv = [{MAIN!r}, *sys.argv[1:]]
runpy.run_path({MAIN!r}, run_name="__main__")
"""


class SandboxError(RedraftError, RuntimeError):
    """The sandbox itself failed (not the code in it); never model feedback. A `RedraftError`: what
    needs fixing is the machine (no process could start), and the CLI says so in one line."""


class _Capture:
    """Keeps the first ``cap`` bytes of a stream and drains the rest, so a chatty
    child never blocks on a full pipe and never fills our memory."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.data = bytearray()
        self.over = False

    async def pump(self, stream: asyncio.StreamReader, overflow: asyncio.Event) -> None:
        while chunk := await stream.read(1 << 16):
            room = self.cap - len(self.data)
            if len(chunk) > room:
                self.data += chunk[: max(room, 0)]
                self.over = True
                overflow.set()
            else:
                self.data += chunk

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def _write_files(workdir: str, files: dict[str, str]) -> None:
    for name, content in files.items():
        rel = os.path.normpath(name)
        if os.path.isabs(rel) or rel == "." or rel.startswith(".."):
            raise ValueError(f"sandbox file names must stay inside the workdir: {name!r}")
        path = os.path.join(workdir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(content)


async def run_python(
    code: str,
    *,
    stdin: str | None = None,
    limits: SandboxLimits | None = None,
    files: dict[str, str] | None = None,
    hide_paths: Sequence[str] = (),
) -> SandboxResult:
    """Run ``code`` as ``main.py`` in a fresh sandbox and return what it did.

    ``files`` (relative name -> text) are placed next to it and are importable.
    ``hide_paths`` are made unreadable inside the sandbox where a mount namespace
    exists (``full`` mode), e.g. an installed copy of hidden tests.
    Failures of the program are reported in the result, never raised; only a
    broken sandbox raises `SandboxError`, since that is not the model's fault.
    """
    return await run_sandboxed(code, stdin=stdin, limits=limits, files=files, hide_paths=hide_paths)


async def run_sandboxed(
    code: str,
    *,
    stdin: str | None = None,
    limits: SandboxLimits | None = None,
    files: dict[str, str] | None = None,
    hide_paths: Sequence[str] = (),
    pass_fds: Sequence[int] = (),
    args: Sequence[str] = (),
) -> SandboxResult:
    """`run_python`, plus what the grader needs: ``pass_fds`` are inherited by the
    program (and closed here once it started, or on failure: ownership passes to
    this call) and ``args`` become its ``sys.argv[1:]``."""
    limits = limits or SandboxLimits()
    files = dict(files or {})
    owned = list(pass_fds)
    if MAIN in files or _BOOT in files:
        _close_all(owned)
        raise ValueError(f"{MAIN!r} and {_BOOT!r} are reserved file names")
    cached = _detect._cached
    isolation: Isolation = cached if cached is not None else await asyncio.to_thread(detect_isolation)
    files[MAIN] = code
    entry = MAIN
    if isolation.mode == "guard":
        files[_BOOT] = _BOOT_SOURCE
        entry = _BOOT
    workdir = tempfile.mkdtemp(prefix="redraft-sbx-")
    uid = iso.allocate_uid() if isolation.mode == "full" else None
    proc: asyncio.subprocess.Process | None = None
    group, bound = _memory_budget(isolation, limits)
    try:
        _write_files(workdir, files)
        nproc = limits.max_processes if group is not None else _cgroup.fallback_processes(
            limits.memory_mb, limits.max_processes
        )
        preexec = iso.make_preexec(
            isolation.mode,
            workdir=workdir,
            uid=uid,
            rlimits=rlimits_for(
                nproc, limits.memory_mb, limits.cpu_time_s, limits.max_file_bytes, isolation.mode
            ),
            tmpfs_bytes=4 * limits.max_file_bytes,
            cgroup_files=group.join_files if group is not None else (),
            hide_paths=hide_paths,
        )
        if group is None:
            bound = f"rlimit: {limits.memory_mb} MB of address space per process x {nproc} processes"
        start = time.monotonic()
        try:
            proc = await asyncio.create_subprocess_exec(
                isolation.interpreter,
                *PYTHON_FLAGS,
                entry,
                *args,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=workdir,
                env=sandbox_env(workdir),
                start_new_session=True,
                preexec_fn=preexec,
                pass_fds=owned,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            raise SandboxError(f"could not start the sandboxed process: {exc}") from exc
        finally:
            _close_all(owned)
        result = await _supervise(proc, start, stdin, limits, uid)
        update: dict = {"sandbox_uid": uid, "isolation": isolation, "memory_bound": bound}
        if group is not None:
            kills = group.oom_kills()
            if kills:
                update["status"] = "memory"
                update["reason"] = (
                    f"the run passed its memory limit of {limits.memory_mb} MB (all processes together); "
                    f"the kernel killed {kills} process{'es' if kills > 1 else ''}"
                )
        return result.model_copy(update=update)
    finally:
        _close_all(owned)
        if proc is not None and proc.returncode is None:  # cancelled mid-run
            iso.kill_group(proc.pid)
        # Synchronous on purpose: a second cancellation must not skip the cleanup.
        if uid is not None and iso.sweep_uid(uid):
            iso.release_uid(uid)  # a uid with survivors is never handed out again
        if group is not None:
            group.remove()
        shutil.rmtree(workdir, ignore_errors=True)


def _close_all(fds: list[int]) -> None:
    while fds:
        with contextlib.suppress(OSError):
            os.close(fds.pop())


def _memory_budget(isolation: Isolation, limits: SandboxLimits) -> tuple[_cgroup.RunCgroup | None, str]:
    """The run's own cgroup when the isolation has one, else None (rlimits only)."""
    if "cgroup" not in isolation.mechanisms:
        return None, ""
    backend = _detect.cgroup_backend()
    if backend is None:
        return None, ""
    try:
        group = _cgroup.create(backend, limits.memory_mb, limits.max_processes)
    except OSError:
        return None, ""
    return group, (
        f"cgroup {backend.version}: {limits.memory_mb} MB and {limits.max_processes} processes "
        "for the whole run"
    )


async def _feed(stream: asyncio.StreamWriter, data: str) -> None:
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        if data:
            stream.write(data.encode())
            await stream.drain()
        stream.close()


async def _exit_of(proc: asyncio.subprocess.Process) -> int:
    """The exit status, as soon as the process itself is gone. `Process.wait()` is
    no use here: on 3.11 it also waits for the pipes to close, which a background
    grandchild holding stdout would delay until the wall clock."""
    while proc.returncode is None:
        await asyncio.sleep(0.005)
    return proc.returncode


async def _supervise(
    proc: asyncio.subprocess.Process,
    start: float,
    stdin: str | None,
    limits: SandboxLimits,
    uid: int | None,
) -> SandboxResult:
    assert proc.stdout is not None and proc.stderr is not None
    out, err = _Capture(limits.max_output_bytes), _Capture(limits.max_output_bytes)
    overflow = asyncio.Event()
    readers = [
        asyncio.create_task(out.pump(proc.stdout, overflow)),
        asyncio.create_task(err.pump(proc.stderr, overflow)),
    ]
    feeder = None
    if proc.stdin is not None and stdin is not None:
        feeder = asyncio.create_task(_feed(proc.stdin, stdin))
    exited = asyncio.create_task(_exit_of(proc))
    flooded = asyncio.create_task(overflow.wait())
    try:
        await asyncio.wait({exited, flooded}, timeout=limits.wall_time_s, return_when=asyncio.FIRST_COMPLETED)
        duration = time.monotonic() - start
        timed_out = not exited.done() and not flooded.done()
        if not exited.done():
            iso.kill_group(proc.pid)
            if uid is not None:
                await asyncio.to_thread(iso.sweep_uid, uid)
        await exited
        # The program is gone; whatever it left behind goes too, so the pipes close.
        iso.kill_group(proc.pid)
        if uid is not None:
            await asyncio.to_thread(iso.sweep_uid, uid)
        _, stuck = await asyncio.wait(readers, timeout=2.0)
        if not stuck:
            await proc.wait()  # lets the transport close cleanly
    finally:
        for task in (*readers, exited, flooded, *([feeder] if feeder else [])):
            task.cancel()
    if stuck:  # only possible without a uid sweep: a daemon that escaped the group
        transport = getattr(proc, "_transport", None)
        if transport is not None:
            transport.close()
    rc = proc.returncode
    status, reason = _classify(rc, timed_out, out.over or err.over, err.text(), limits)
    return SandboxResult(
        status=status,
        exit_code=rc if rc is not None and rc >= 0 else None,
        signal=-rc if rc is not None and rc < 0 else None,
        stdout=out.text(),
        stderr=err.text(),
        duration_s=round(duration, 4),
        truncated=out.over or err.over,
        reason=reason + (" (a stray process kept the output pipes open)" if stuck else ""),
    )


def _classify(
    rc: int | None, timed_out: bool, flooded: bool, stderr: str, limits: SandboxLimits
) -> tuple[Status, str]:
    if timed_out:
        return "timeout", f"wall-clock limit of {limits.wall_time_s:g}s exceeded"
    if flooded:
        return "output_limit", f"output passed {limits.max_output_bytes} bytes; stopped there"
    if rc == 0:
        return "ok", "exited normally"
    if rc is not None and rc < 0:
        sig = -rc
        if sig == signal.SIGXCPU:
            return "timeout", f"CPU time limit of {limits.cpu_time_s}s exceeded"
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
        if sig == signal.SIGKILL:
            return "killed", "killed by SIGKILL (CPU hard limit or the kernel's OOM killer)"
        return "killed", f"killed by signal {name}"
    last = next((ln for ln in reversed(stderr.splitlines()) if ln.strip()), "")
    if last.startswith("MemoryError") or "Cannot allocate memory" in last:
        return "memory", f"ran out of memory (limit {limits.memory_mb} MB of address space)"
    return "error", f"exited with status {rc}" + (f": {last.strip()}" if last else "")

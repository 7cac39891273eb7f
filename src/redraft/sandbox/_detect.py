"""Find out once per process which containment actually works on this machine.

Whether namespaces can be created, mounts changed and uids dropped depends on
the kernel, on being root, on the container we run in; reading flags cannot tell
reliably, so we try: a tiny probe program is run under the strongest mode first,
and the first mode whose probe succeeds is cached and reported in every result.
The probe also proves the chosen interpreter can be executed by the throwaway
uid (a pyenv Python under /root, mode 700, cannot; Debian's /usr/bin/python3 can).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading

from . import _cgroup
from . import _isolation as iso
from .models import Isolation

PYTHON_FLAGS = ("-E", "-s", "-S", "-B", "-u")
"""-E: ignore PYTHON* variables; -s/-S: no user or site packages (model code gets the
standard library only); -B: no .pyc; -u: unbuffered, so output printed before a kill
is not lost. Not -I: its -P would drop the script's directory from sys.path and
with it the helper modules passed in ``files``."""

_PROBE = (
    "import errno, json, os, socket, sys\n"
    "s = socket.socket()\n"
    "try:\n    s.connect(('127.0.0.1', 9)); net = 'open'\n"
    "except OSError as e:\n    net = errno.errorcode.get(e.errno, str(e.errno))\n"
    "pids = [p for p in os.listdir('/proc') if p.isdigit()]\n"
    "print(json.dumps({'v': '%d.%d.%d' % sys.version_info[:3], 'net': net,"
    " 'pids': len(pids), 'uid': os.getuid()}))\n"
)

_cached: Isolation | None = None
_lock = threading.Lock()
_cgroup_backend: _cgroup.Backend | None = None
_cgroup_probed = False
_cgroup_lock = threading.Lock()


def cgroup_backend() -> _cgroup.Backend | None:
    """Where per-run cgroups go (probed once): None when no hierarchy is writable."""
    global _cgroup_backend, _cgroup_probed
    with _cgroup_lock:
        if not _cgroup_probed:
            _cgroup_backend, _cgroup_probed = _cgroup.detect(), True
        return _cgroup_backend


def _memory_mechanisms() -> list[str]:
    """"cgroup" (memory and processes bounded for the whole run) when available."""
    backend = _cgroup.detect()
    global _cgroup_backend, _cgroup_probed
    _cgroup_backend, _cgroup_probed = backend, True
    return ["cgroup", f"cgroup-{backend.version}"] if backend is not None else ["rlimit-memory-bound"]


def sandbox_env(workdir: str) -> dict[str, str]:
    """The whole environment of the child: nothing of ours (no API keys) leaks in."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": workdir,
        "TMPDIR": workdir,
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def _candidates() -> list[str]:
    """Interpreters to try, ours first; system ones because ours may sit in /root."""
    major, minor = sys.version_info[:2]
    system = "/usr/local/bin:/usr/bin:/bin"
    found = [
        sys.executable,
        getattr(sys, "_base_executable", ""),
        os.path.realpath(sys.executable),
        shutil.which(f"python{major}.{minor}", path=system) or "",
        shutil.which("python3", path=system) or "",
    ]
    return list(dict.fromkeys(p for p in found if p))


def user_task_count(uid: int) -> int:
    """Threads already owned by ``uid``: RLIMIT_NPROC counts those too."""
    total = 0
    for pid in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not pid.isdigit():
            continue
        try:
            if os.stat(f"/proc/{pid}").st_uid == uid:
                total += len(os.listdir(f"/proc/{pid}/task"))
        except OSError:
            continue
    return total


def _probe(mode: str, interpreter: str) -> dict:
    workdir = tempfile.mkdtemp(prefix="redraft-probe-")
    uid = iso.allocate_uid() if mode == "full" else None
    try:
        preexec = iso.make_preexec(mode, workdir=workdir, uid=uid, rlimits={}, tmpfs_bytes=1 << 20)
        proc = subprocess.run(
            [interpreter, *PYTHON_FLAGS, "-c", _PROBE],
            cwd=workdir,
            env=sandbox_env(workdir),
            preexec_fn=preexec,
            start_new_session=True,
            capture_output=True,
            text=True,
            timeout=20,
        )
        if proc.returncode != 0:
            raise OSError(f"probe exited {proc.returncode}: {proc.stderr.strip()[-300:]}")
        return json.loads(proc.stdout)
    finally:
        if uid is not None:
            iso.sweep_uid(uid)
            iso.release_uid(uid)
        shutil.rmtree(workdir, ignore_errors=True)


def detect_isolation(*, refresh: bool = False) -> Isolation:
    """The strongest isolation that works here (probed once, then cached)."""
    global _cached
    with _lock:
        if _cached is not None and not refresh:
            return _cached
        _cached = _detect()
        return _cached


def _detect() -> Isolation:
    failures: list[str] = []
    if os.geteuid() == 0:
        for interpreter in _candidates():
            try:
                info = _probe("full", interpreter)
            except (OSError, subprocess.SubprocessError, ValueError) as exc:
                failures.append(f"full with {interpreter}: {exc}")
                continue
            mechs = ["netns", "mntns", "ipcns", "utsns", "readonly-fs", "private-tmp"]
            if info["pids"] <= 1:
                mechs.append("hidepid")
            mechs += ["uid", "rlimits", *_memory_mechanisms()]
            if info["net"] == "open":  # never expected; do not claim what is not so
                mechs.remove("netns")
            return Isolation(
                mode="full",
                mechanisms=tuple(mechs),
                interpreter=interpreter,
                python_version=info["v"],
                notes="; ".join(failures),
            )
    else:
        failures.append("not root: no uid drop, mount namespace or enforced read-only fs")
    try:
        info = _probe("userns", sys.executable)
        return Isolation(
            mode="userns",
            mechanisms=("netns", "ipcns", "rlimits", *_memory_mechanisms()),
            interpreter=sys.executable,
            python_version=info["v"],
            notes="; ".join(failures),
        )
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        failures.append(f"userns: {exc}")
    failures.append("network blocked only by a Python-level guard (bypassable)")
    if os.geteuid() == 0:
        failures.append("RLIMIT_NPROC is not enforced for root")
    return Isolation(
        mode="guard",
        mechanisms=("rlimits", "socket-guard", *_memory_mechanisms()),
        interpreter=sys.executable,
        python_version=".".join(map(str, sys.version_info[:3])),
        notes="; ".join(failures),
    )


def rlimits_for(limits_nproc: int, memory_mb: int, cpu_s: int, fsize: int, mode: str) -> dict:
    """Kernel limits of the child. With a shared uid (not ``full``) RLIMIT_NPROC
    counts the user's other threads too, so the cap is set above what they use."""
    nproc = limits_nproc
    if mode != "full":
        nproc += user_task_count(os.getuid())
    return iso.clamp_rlimits(
        {
            resource.RLIMIT_AS: memory_mb * 1024 * 1024,
            resource.RLIMIT_CPU: cpu_s,
            resource.RLIMIT_FSIZE: fsize,
            resource.RLIMIT_NPROC: nproc,
            resource.RLIMIT_CORE: 0,
            resource.RLIMIT_NOFILE: 256,
        }
    )

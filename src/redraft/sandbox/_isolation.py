"""The kernel side of containment: namespaces, mounts, rlimits, uids, cleanup.

Everything here runs in the parent or in the forked child *before* exec (the
``preexec_fn``), because code after exec is untrusted. The child sets itself up
in this order, each step needing the privilege the next one gives up:

1. ``unshare`` new network, mount, IPC and UTS namespaces (needs root);
2. make every inherited mount private, read-only and nosuid, then put fresh,
   size-capped tmpfs on /tmp, /var/tmp, /dev/shm, /run and on the working
   directory (the input files are copied in), and a proc with ``hidepid``;
3. set the rlimits (lowering them needs no privilege, raising would);
4. drop to a throwaway uid/gid picked per run, so RLIMIT_NPROC is enforced
   (it is not for root), root-only files are unreadable, and afterwards every
   process of that uid, even one that left the process group, can be killed.

Without root the child can still get a private network from an unprivileged
user namespace (``userns``); failing that only a Python socket guard is left.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import random
import resource
import signal
import threading
import time
from collections.abc import Callable, Sequence

from . import _cgroup

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWNET = 0x10000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 32, 1024, 2048, 4096
MS_REC, MS_PRIVATE, MS_RELATIME, MS_STRICTATIME = 16384, 1 << 18, 1 << 21, 1 << 24
_KEPT_FLAGS = {
    "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
    "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME, "strictatime": MS_STRICTATIME,
}  # fmt: skip
PRIVATE_TMP = ("/tmp", "/var/tmp", "/dev/shm", "/run")  # /run: host daemons' unix sockets

# Throwaway uids come from a range no distribution or container tool hands out
# (systemd documents 524288-1879048191 for containers), so a sweep by uid can
# only ever hit sandbox processes.
UID_BASE, UID_SPAN = 2_000_000_000, 100_000_000

_libc = ctypes.CDLL(None, use_errno=True)
with contextlib.suppress(AttributeError):  # not Linux: importable, the probe then fails
    _libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                            ctypes.c_char_p]  # fmt: skip
    _libc.unshare.argtypes = [ctypes.c_int]
_uids_in_use: set[int] = set()
_uid_lock = threading.Lock()


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _enc(text: str | None) -> bytes | None:
    return text.encode() if text is not None else None


def _mount(src: str | None, target: str, fstype: str | None, flags: int, data: str = "") -> None:
    ret = _libc.mount(_enc(src), target.encode(), _enc(fstype), flags, data.encode() or None)
    _check(ret, f"mount {target}")


def unshare(flags: int) -> None:
    """``unshare(2)``; Python 3.11 has no ``os.unshare``."""
    _check(_libc.unshare(flags), "unshare")


def read_mounts() -> list[tuple[str, int]]:
    """Mount points and the per-mount flags a read-only remount must keep."""
    mounts = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            point = fields[4].encode().decode("unicode_escape")  # "\040" is a space
            flags = 0
            for opt in fields[5].split(","):
                flags |= _KEPT_FLAGS.get(opt, 0)
            mounts.append((point, flags))
    return mounts


def clamp_rlimits(limits: dict[int, int]) -> dict[int, tuple[int, int]]:
    """Soft/hard pairs that never exceed the current hard limit (we may lack
    CAP_SYS_RESOURCE, and raising a hard limit would make setrlimit fail)."""
    out = {}
    for res, want in limits.items():
        hard = resource.getrlimit(res)[1]
        val = want if hard == resource.RLIM_INFINITY else min(want, hard)
        soft = val
        if res == resource.RLIMIT_CPU:  # SIGXCPU at soft, SIGKILL one second later
            val = val + 1 if hard == resource.RLIM_INFINITY else min(val + 1, hard)
        out[res] = (soft, val)
    return out


def make_preexec(
    mode: str,
    *,
    workdir: str,
    uid: int | None,
    rlimits: dict[int, tuple[int, int]],
    tmpfs_bytes: int,
    cgroup_files: Sequence[str] = (),
    hide_paths: Sequence[str] = (),
) -> Callable[[], None]:
    """The function the forked child runs before exec; see the module docstring.

    It must not import or start threads: the parent may be multi-threaded, so the
    child only makes system calls and simple file copies. Any exception makes
    ``Popen`` raise in the parent, so a half-isolated child never runs code.

    ``cgroup_files`` are joined first (they sit on a filesystem about to become
    read-only, and joining needs root). ``hide_paths`` (``full`` only: it needs the
    mount namespace) are covered by an empty, unreadable tmpfs or by /dev/null, so
    e.g. the installed copy of a benchmark's hidden tests cannot be read.
    """
    mounts = read_mounts() if mode == "full" else []
    hidden = [(p, os.path.isdir(p)) for p in hide_paths if os.path.exists(p)] if mode == "full" else []
    cgroup_files = list(cgroup_files)

    def preexec() -> None:
        if cgroup_files:
            _cgroup.join(cgroup_files)
        if mode == "full":
            unshare(CLONE_NEWNET | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS)
            _mount("none", "/", None, MS_REC | MS_PRIVATE)
            for point, flags in mounts:
                try:
                    _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | flags)
                except OSError:
                    if point == "/":
                        raise  # a writable root would defeat the point
            for path, is_dir in hidden:
                if is_dir:
                    _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4096,mode=000")
                else:
                    _mount("/dev/null", path, None, MS_BIND)
            size = f"size={tmpfs_bytes},nr_inodes=4096"
            for path in PRIVATE_TMP:
                if os.path.isdir(path):
                    _mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, f"{size},mode=1777")
            # cwd still points at the host workdir, even once it is covered below.
            os.makedirs(workdir, exist_ok=True)
            _mount("tmpfs", workdir, "tmpfs", MS_NOSUID | MS_NODEV,
                   f"{size},mode=0700,uid={uid},gid={uid}")  # fmt: skip
            _copy_tree(".", workdir, uid)
            os.chdir(workdir)
            for opts in ("hidepid=invisible", "hidepid=2"):
                try:
                    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts)
                    break
                except OSError:
                    continue
        elif mode == "userns":
            unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWIPC)
        for res, pair in rlimits.items():
            resource.setrlimit(res, pair)
        if uid is not None:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)

    return preexec


def _copy_tree(src: str, dst: str, uid: int | None) -> None:
    for root, dirs, files in os.walk(src):
        rel = os.path.relpath(root, src)
        target = os.path.normpath(os.path.join(dst, rel))
        for d in dirs:
            os.mkdir(os.path.join(target, d), 0o700)
            if uid is not None:
                os.chown(os.path.join(target, d), uid, uid)
        for name in files:
            with open(os.path.join(root, name), "rb") as fin:
                data = fin.read()
            out = os.path.join(target, name)
            with open(out, "wb") as fout:
                fout.write(data)
            if uid is not None:
                os.chown(out, uid, uid)


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _owner(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def live_pids_of(uid: int) -> list[int]:
    """Pids running as ``uid``, zombies (already dead, awaiting reaping) left out."""
    found = []
    for pid in _pids():
        if _owner(pid) != uid:
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            found.append(pid)
    return found


def allocate_uid() -> int:
    """A uid in the sandbox range that no process and no concurrent run is using."""
    with _uid_lock:
        busy = {u for u in map(_owner, _pids()) if u is not None}
        while True:
            uid = UID_BASE + random.randrange(UID_SPAN)
            if uid not in busy and uid not in _uids_in_use:
                _uids_in_use.add(uid)
                return uid


def release_uid(uid: int) -> None:
    with _uid_lock:
        _uids_in_use.discard(uid)


def kill_group(pgid: int) -> None:
    """SIGKILL a process group; a missing group is not an error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def sweep_uid(uid: int, timeout_s: float = 3.0) -> bool:
    """SIGKILL every process of ``uid`` until none is left; True when none is.

    A process with SIGKILL pending cannot fork any more, so each pass only meets
    children born during the previous one and a fork bomb is gone in a few passes.
    pidfds make the kill race-free against pid reuse.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        pids = live_pids_of(uid)
        if not pids:
            return True
        if time.monotonic() > deadline:
            return False
        for pid in pids:
            try:
                fd = os.pidfd_open(pid)
            except OSError:
                continue
            try:
                if _owner(pid) == uid:  # still the same process: the pidfd pins it
                    signal.pidfd_send_signal(fd, signal.SIGKILL)
            except OSError:
                pass
            finally:
                os.close(fd)
        time.sleep(0.005)

"""Who owns a running run or evaluation, and whether that owner is still alive.

A row marked `running` is only true while some process is working on it. A SIGKILL,
an OOM kill or a power cut leaves the row saying `running` forever, and a second
process cannot tell a live evaluation from a dead one. So every run and evaluation
records its owner: the pid, the host, the process's start time (so a recycled pid is
not mistaken for the owner) and a token unique to the claimant (so two claimants in
one process are told apart). An owner is dead when its host is this host and its pid
is gone, is a zombie, or belongs to a process that started at another time. An owner
on another host is presumed alive: there is no way to look.

A leaf module: it imports nothing of redraft.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path


@cache
def _boot_id() -> str:
    """This boot's id (Linux), so start times of two boots are never compared; '' elsewhere."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()[:8]
    except OSError:
        return ""


def process_start(pid: int) -> tuple[str, bool] | None:
    """(start time, dead) of a process, from /proc/PID/stat: dead when it is a zombie or gone
    (start time ''). None when there is no /proc to read: then only the pid can be checked."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return ("", True) if Path("/proc/self/stat").exists() else None
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: fields are read after the last ')'.
    fields = stat[stat.rindex(")") + 2:].split()
    state, start_ticks = fields[0], fields[19]
    return f"{_boot_id()}{start_ticks}", state in ("Z", "X")


def pid_exists(pid: int) -> bool:
    """Whether a process with this pid exists (it may belong to another user)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass(frozen=True)
class Owner:
    """A claimant: stored as the text `PID@HOST#START/TOKEN`."""

    pid: int
    host: str
    start: str
    token: str

    def __str__(self) -> str:
        return f"{self.pid}@{self.host}#{self.start}/{self.token}"

    @classmethod
    def parse(cls, text: str) -> Owner | None:
        """The owner a stored text names; None for text this module did not write."""
        try:
            rest, token = text.rsplit("/", 1)
            rest, start = rest.rsplit("#", 1)
            pid, host = rest.split("@", 1)
            return cls(int(pid), host, start, token)
        except ValueError:
            return None

    def describe(self) -> str:
        """For messages: 'pid 123 on host h'."""
        return f"pid {self.pid} on host {self.host}"


def this_host() -> str:
    return socket.gethostname()


@cache
def _own_start() -> str:
    found = process_start(os.getpid())
    return found[0] if found else ""


def current(token: str | None = None) -> Owner:
    """This process as an owner; a fresh token unless one is given."""
    return Owner(os.getpid(), this_host(), _own_start(), token or uuid.uuid4().hex[:8])


def is_alive(owner: Owner) -> bool:
    """False only when the owner is known dead: on this host, its pid is gone, a zombie, or a
    process started at another time than the owner's."""
    if owner.host != this_host():
        return True
    if owner.pid == os.getpid():
        return owner.start == _own_start()
    found = process_start(owner.pid)
    if found is None:  # no /proc: the pid is all there is to check
        return pid_exists(owner.pid)
    start, dead = found
    return not dead and (not owner.start or start == owner.start)


def is_stale(stored: str | None) -> bool:
    """Whether a stored owner (the text in a row) is a claimant known to be dead."""
    if stored is None:
        return False
    owner = Owner.parse(stored)
    return owner is not None and not is_alive(owner)

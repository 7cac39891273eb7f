"""SIGINT and SIGTERM stop a command cleanly: the coroutine is cancelled, not the process killed.

By default SIGTERM kills Python on the spot, so an evaluation stopped by `kill`, systemd, a
CI timeout or `docker stop` left its rows saying `running`. Here both signals cancel the main
task instead: every run in flight is marked `interrupted` (see `redraft.runs.runner`), the
evaluation is marked `interrupted` and its lease released (see `Evaluation.run`), and the
command exits with the shell's code for the signal (128 + signal number: 130, 143) after one
line on stderr that says how to go on.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Coroutine
from typing import Any, TypeVar

from redraft.errors import RedraftError

T = TypeVar("T")

STOPPING = (signal.SIGINT, signal.SIGTERM)


class Interrupted(RedraftError):
    """A signal stopped the command; `exit_code` is 128 + the signal's number."""

    def __init__(self, signum: int, message: str = "") -> None:
        self.signum = signum
        self.exit_code = 128 + signum
        name = signal.Signals(signum).name
        super().__init__(f"interrupted by {name}" + (f": {message}" if message else ""))


def run_interruptible(coro: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(coro)`, but SIGINT and SIGTERM cancel it and raise `Interrupted`."""
    return asyncio.run(_until_signal(coro))


async def _until_signal(coro: Coroutine[Any, Any, T]) -> T:
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    received: list[int] = []

    def stop(signum: int) -> None:
        if not received and main is not None:  # a second signal does not cut the cleanup short
            main.cancel()
        received.append(signum)

    installed = []
    for signum in STOPPING:
        try:
            loop.add_signal_handler(signum, stop, signum)
            installed.append(signum)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or Windows
            pass
    try:
        return await coro
    except asyncio.CancelledError:
        if received:
            raise Interrupted(received[0]) from None
        raise
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)

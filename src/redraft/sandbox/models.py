"""The values the sandbox takes and returns.

They are plain pydantic models so a run can be logged, traced and replayed as
JSON: the feedback a strategy shows the model is built from these fields, and a
reviewer must be able to see afterwards why a program was stopped.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

Status = Literal["ok", "error", "timeout", "memory", "output_limit", "killed"]
"""How a sandboxed run ended.

- ``ok``: the program exited with status 0.
- ``error``: it exited with a non-zero status (an uncaught exception, ``sys.exit(1)``,
  a file over ``max_file_bytes``, too many processes ...); stderr holds the traceback.
- ``timeout``: the wall-clock limit (killed by us) or the CPU limit (SIGXCPU) was hit.
- ``memory``: it died of ``MemoryError``/``ENOMEM`` under the address-space limit.
- ``output_limit``: stdout or stderr passed ``max_output_bytes``; we killed it there.
- ``killed``: a signal we did not send ended it (SIGSEGV, SIGABRT, the kernel's OOM
  killer, SIGKILL from the CPU hard limit, the program killing itself).
"""

CaseOutcome = Literal["passed", "failed", "error", "timeout", "not_run"]
"""How one assert of `run_test_cases` ended: ``failed`` is a false assertion,
``error`` an exception, ``timeout`` the case that was running when the process was
stopped, ``not_run`` the cases after it (or all of them when the harness never ran)."""


class SandboxLimits(BaseModel):
    """Resource limits of one run; the defaults suit unit tests of model-written code.

    Every limit is enforced by the kernel (rlimits) or by the parent process (wall
    clock, output), never by code running inside the sandbox, so the program cannot
    lift them.
    """

    model_config = ConfigDict(frozen=True)

    wall_time_s: float = Field(10.0, gt=0, description="Kill the whole run after this.")
    cpu_time_s: int = Field(10, gt=0, description="RLIMIT_CPU of each process.")
    memory_mb: int = Field(
        512,
        gt=0,
        description="RLIMIT_AS (address space) of each process and, where a cgroup is available, "
        "the memory of the whole run (all its processes together).",
    )
    max_processes: int = Field(
        64, gt=0, description="RLIMIT_NPROC: processes and threads of the sandbox uid."
    )
    max_output_bytes: int = Field(
        64_000, gt=0, description="Cap on stdout and on stderr (each); the run is killed beyond."
    )
    max_file_bytes: int = Field(
        10_000_000, gt=0, description="RLIMIT_FSIZE; the private tmpfs dirs hold 4x this."
    )


class Isolation(BaseModel):
    """Which containment was active for a run, so callers can tell strong from weak.

    ``mode`` is ``full`` (root: namespaces, read-only filesystem, dedicated uid),
    ``userns`` (not root: an unprivileged user namespace gives a private network
    only) or ``guard`` (no namespaces at all: a Python-level socket guard, which
    determined code can bypass). ``mechanisms`` lists what is in force, e.g.
    ``netns``, ``mntns``, ``readonly-fs``, ``private-tmp``, ``hidepid``, ``uid``,
    ``rlimits``, ``socket-guard``.
    """

    model_config = ConfigDict(frozen=True)

    mode: Literal["full", "userns", "guard"]
    mechanisms: tuple[str, ...]
    interpreter: str
    python_version: str
    notes: str = ""

    @property
    def network_isolated(self) -> bool:
        """True when the kernel (not Python code) blocks the network."""
        return "netns" in self.mechanisms


class SandboxResult(BaseModel):
    """What one sandboxed run did; ``reason`` says in words why it ended that way."""

    status: Status
    exit_code: int | None = Field(None, description="Exit status, or None when a signal ended the process.")
    signal: int | None = Field(None, description="The signal that ended it, if any.")
    stdout: str = ""
    stderr: str = ""
    duration_s: float = 0.0
    truncated: bool = Field(False, description="stdout or stderr was cut at max_output_bytes.")
    reason: str = ""
    sandbox_uid: int | None = Field(None, description="The throwaway uid the code ran as.")
    isolation: Isolation | None = None
    memory_bound: str = Field(
        "",
        description="How memory was bounded for this run, in words: a cgroup for all its processes "
        "together, or RLIMIT_AS per process times the RLIMIT_NPROC cap.",
    )

    @property
    def ok(self) -> bool:
        """Exited cleanly with status 0 within all limits."""
        return self.status == "ok"


class TestCaseResult(BaseModel):
    """One assert of `run_test_cases`, with the text a self-debugging loop feeds back."""

    __test__: ClassVar[bool] = False  # not a pytest test class, despite the name

    test: str
    outcome: CaseOutcome
    actual: str | None = Field(None, description="repr of the value under test (left side of a comparison).")
    message: str = Field("", description="e.g. 'assert add(1,2)==4 failed: add(1,2) returned 3'")
    output: str = Field("", description="What the case printed to stdout.")

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        """The assertion held and nothing raised."""
        return self.outcome == "passed"


class TestRunResult(BaseModel):
    """A HumanEval-style run of a program against its ``check(candidate)`` tests."""

    __test__: ClassVar[bool] = False

    passed: bool
    status: Status
    message: str = Field("", description="Short feedback: the failing line and exception.")
    result: SandboxResult

"""Run model-written Python without trusting it.

`run_python` executes a program in a separate, contained process; `run_tests`
and `run_test_cases` build on it to grade code and to produce the feedback text
("assert add(1,2)==4 failed: add(1,2) returned 3") self-debugging strategies
show the model. What is and is not contained is documented in docs/sandbox.md
and, per run, in `SandboxResult.isolation`.
"""

from ._detect import detect_isolation
from .models import (
    CaseOutcome,
    Isolation,
    SandboxLimits,
    SandboxResult,
    Status,
    TestCaseResult,
    TestRunResult,
)
from .runner import SandboxError, run_python
from .testing import run_test_cases, run_tests

__all__ = [
    "CaseOutcome",
    "Isolation",
    "SandboxError",
    "SandboxLimits",
    "SandboxResult",
    "Status",
    "TestCaseResult",
    "TestRunResult",
    "detect_isolation",
    "run_python",
    "run_test_cases",
    "run_tests",
]

"""Execution feedback: run the candidate's code against unit tests in the sandbox.

The self-debugging papers feed back which tests failed and what the code did
instead. Only *visible* tests (the problem's examples, `metadata["tests"]`) are
used by default; running the hidden grading tests (`hidden=True`) reads the
reference, so that variant is an oracle and is labelled as one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from redraft.feedback.base import Source
from redraft.feedback.registry import register
from redraft.sandbox import SandboxLimits, run_test_cases, run_tests
from redraft.tasks.base import Problem
from redraft.tasks.extract import extract_code
from redraft.tasks.humaneval import build_program
from redraft.trace import Feedback, Verdict

if TYPE_CHECKING:
    from redraft.context import Context

Detail = Literal["pass_fail", "failing_tests"]


def candidate_program(problem: Problem, candidate: str) -> str:
    """The runnable program for a candidate: its code, completing the problem's stub if needed."""
    entry_point = problem.metadata.get("entry_point")
    code = extract_code(candidate, entry_point)
    stub = problem.metadata.get("prompt")
    return build_program(stub, code, entry_point) if entry_point and stub else code


@register
class TestsFeedback(Source):
    """Runs visible asserts (or, as an oracle, the hidden tests) against the candidate."""

    __test__ = False  # not a pytest class
    name = "tests"
    executes_code = True  # the candidate's code runs (a server may refuse it)
    description = "visible unit tests run in the sandbox; failing tests listed (hidden=true: an oracle)"

    class Params(BaseModel):
        detail: Detail = Field("failing_tests", description="pass_fail, or the failing tests listed")
        hidden: bool = Field(False, description="run the hidden grading tests (an oracle)")

    def __init__(
        self,
        *,
        detail: Detail = "failing_tests",
        hidden: bool = False,
        limits: SandboxLimits | None = None,
    ) -> None:
        self.detail = detail
        self.hidden = hidden
        self.oracle = hidden
        self.limits = limits

    async def judge(self, problem: Problem, candidate: str, ctx: Context | None = None) -> Feedback:
        program = candidate_program(problem, candidate)
        if self.hidden:  # an oracle: the hidden tests come from the full problem, never the strategy's
            return await self._hidden(problem if ctx is None else ctx.oracle_view(problem), program)
        tests: list[str] = list(problem.metadata.get("tests") or [])
        if not tests:
            return Feedback(verdict=Verdict.UNKNOWN, text="No tests are available for this problem.")
        results = await run_test_cases(program, tests, limits=self.limits)
        failed = [r for r in results if not r.passed]
        score = 1 - len(failed) / len(results)
        if not failed:
            return Feedback(verdict=Verdict.OK, score=score, text=f"All {len(results)} tests passed.")
        if self.detail == "pass_fail":
            text = f"The code failed {len(failed)} of {len(results)} tests."
        else:
            lines = [f"The code failed {len(failed)} of {len(results)} tests:"]
            lines += [f"- {r.message or r.test}" for r in failed]
            text = "\n".join(lines)
        return Feedback(verdict=Verdict.REVISE, score=score, text=text)

    async def _hidden(self, problem: Problem, program: str) -> Feedback:
        test = problem.metadata.get("test")
        if not test:
            return Feedback(verdict=Verdict.UNKNOWN, text="This problem has no hidden tests.")
        result = await run_tests(
            program,
            test,
            entry_point=problem.metadata.get("entry_point"),
            limits=self.limits,
            prelude=problem.metadata.get("prompt"),
        )
        if result.passed:
            return Feedback(verdict=Verdict.OK, score=1.0, text="All tests passed.")
        text = "The code failed the tests." if self.detail == "pass_fail" else result.message
        return Feedback(verdict=Verdict.REVISE, score=0.0, text=text)

"""Program-driven verification (ProgCo): the model writes a checker, the sandbox runs it.

Once per problem, the model writes `verify(answer)` from the question alone,
reverse-checking a proposed answer against the problem's conditions. Each
candidate's extracted answer is then checked by running that program for real
in the sandbox. The program may itself be wrong, so strategies may repair it
(`set_program`), and its verdict is feedback, not truth.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from redraft.feedback.base import Source
from redraft.feedback.registry import register
from redraft.sandbox import SandboxLimits, run_python
from redraft.tasks.base import Problem
from redraft.tasks.extract import extract_code
from redraft.trace import Feedback, Verdict

if TYPE_CHECKING:
    from redraft.context import Context

PROGRAM_PROMPT = """\
Write a Python function `verify(answer: str) -> bool` that checks whether a proposed \
final answer to the problem below is correct, using only the problem statement. \
Work backwards: parse the answer, substitute it into the problem's conditions and \
check that every condition holds (do not just recompute the answer and compare). \
Return True only if all conditions hold. Reply with the code in one ```python block.

Problem:
{problem}"""

RESULT_MARKER = "__REDRAFT_VERIFY__"
RESULT_LINE = re.compile(rf"^{RESULT_MARKER} (True|False)$", re.MULTILINE)


def verification_script(program: str, answer: str) -> str:
    return f"{program}\n\nprint({RESULT_MARKER!r}, bool(verify({answer!r})))\n"


@register
class ProgramFeedback(Source):
    """Verifies the candidate's extracted answer with a model-written program."""

    name = "program"
    executes_code = True  # the model's verify() runs (a server may refuse it)
    description = "the model writes verify(answer); the sandbox runs it (ProgCo)"
    roles = ("verifier",)

    def __init__(self, *, limits: SandboxLimits | None = None) -> None:
        self.limits = limits or SandboxLimits(wall_time_s=5.0, cpu_time_s=5)

    @staticmethod
    def _solve_programs(ctx: Context) -> dict[str, str]:
        """This solve's programs by problem id: kept in the solve's own store, so a repaired
        program never leaks into another run of the same problem through a reused source."""
        programs: dict[str, str] = ctx.store.setdefault("program_feedback", {})
        return programs

    async def program_for(self, problem: Problem, ctx: Context) -> str:
        """The verification program for `problem`, written once by the `verifier` role."""
        programs = self._solve_programs(ctx)
        if problem.id not in programs:
            prompt = PROGRAM_PROMPT.format(problem=problem.prompt)
            completion = await ctx.ask("verifier", prompt)
            programs[problem.id] = extract_code(completion, "verify")
        return programs[problem.id]

    def set_program(self, problem: Problem, program: str, ctx: Context) -> None:
        """Replace this solve's program (ProgCo repairs it when its verdict looks wrong)."""
        self._solve_programs(ctx)[problem.id] = program

    async def judge(self, problem: Problem, candidate: str, ctx: Context) -> Feedback:
        program = await self.program_for(problem, ctx)
        answer = ctx.extract(candidate)
        if answer is None:
            return Feedback(verdict=Verdict.REVISE, text="The solution does not state a final answer.")
        result = await run_python(verification_script(program, answer), limits=self.limits)
        match = RESULT_LINE.search(result.stdout)
        if match is None:
            error = (result.stderr.strip().splitlines() or [result.reason or result.status])[-1]
            return Feedback(
                verdict=Verdict.UNKNOWN,
                text=f"The verification program failed to run ({result.status}): {error}",
            )
        if match.group(1) == "True":
            return Feedback(verdict=Verdict.OK, score=1.0,
                            text=f"The verification program accepts the answer {answer}.")
        return Feedback(
            verdict=Verdict.REVISE, score=0.0,
            text=f"The verification program rejects the answer {answer}: it does not satisfy "
                 "the problem's conditions. Re-check the solution.",
        )

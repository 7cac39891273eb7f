"""ProgCo (Song et al. 2025): a verification program checks the answer; on failure, refine both.

    f = M(write a verification program | x)   once, from x alone: substitute the answer into the
                                              conditions (a reverse check); concurrently y0 = M(x)
    for t in 1..T:
        trace, v = run f on y_{t-1}: M executes it step by step, ending "VERIFICATION: pass|fail"
                   (execution="llm", the paper's ProgVe), or the sandbox runs it ("python")
        pass    -> stop
        fail    -> fb = M(feedback | x, y_{t-1}, f, trace);  y_t = M(refine | x, y_{t-1}, fb,
                   "the feedback may be wrong"); concurrently f = M(reflect on / repair f | trace)
        unknown -> (no verdict line; the program crashed) repair f only, re-verify y_{t-1}
    final = the last y that passed verification, else the last y (the last redraft is unverified)

A model-written program's verdict is feedback, not truth, hence ProgRe's dual
refinement of answer and program. Without a feedback source the program is
pseudo-code the model runs; a `ProgramFeedback` (the default for "python")
writes, runs and stores a real Python `verify(answer)`. Each candidate records
the program that verified it and its version; a repair records the new program
on the candidate that prompted it.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from redraft.context import Context, both
from redraft.feedback.base import FeedbackSource
from redraft.feedback.program import ProgramFeedback
from redraft.strategies.base import Final, Strategy, StrategyError
from redraft.strategies.registry import register
from redraft.tasks.base import Problem
from redraft.tasks.extract import extract_code
from redraft.trace import Candidate, Feedback, Verdict

WRITE_PROGRAM = """\
Write a verification program for the problem below: a function `verify(answer)` that \
checks whether a proposed final answer is correct, using only the problem statement. \
Work backwards: take the answer as given, substitute it into the problem's conditions \
and check each condition in turn (do not just solve the problem again and compare). \
It is pseudo-code that will be executed step by step by hand, so a step may be \
described in words. Return True only if every condition holds. Reply with the \
program in one code block.

Problem:
{problem}"""
CASE = """\
Problem:
{problem}

Verification program:
```
{program}
```

Solution:
{solution}"""
EXECUTE = """\
Execute the verification program below on the solution's final answer, step by step \
like an interpreter: show each step and the value it computes. Judge the solution only \
through the program.
End with exactly one line: "VERIFICATION: pass" if verify returns True, or \
"VERIFICATION: fail" otherwise.

{case}"""
FEEDBACK = """\
A verification program rejected the solution below. From the program and its \
execution trace, write concise feedback on the solution: which condition of the \
problem its answer fails, and where its reasoning probably went wrong.

{case}

Execution trace:
{trace}"""
REFINE = """\
{problem}

Your previous solution:
{solution}

Feedback from a verification program:
{feedback}

The verification program may itself be wrong, and so may this feedback. Re-check \
your solution against the problem: correct it if it is wrong; keep its answer if you \
are sure it is right. Write the complete solution and end with the final answer."""
REPAIR = """\
The verification program below was run on a solution to this problem; the result is \
shown. Either the solution or the program is wrong. Reflect on the program: does it \
read the answer correctly, and does it check every condition of the problem correctly? \
If it has a mistake, fix it; otherwise repeat it unchanged. Reply with the complete \
program in one code block{python}.

{case}

Result of running the program:
{trace}"""
PYTHON_NOTE = ", as a Python function `verify(answer: str) -> bool`"

VERIFICATION_LINE = re.compile(r"verification\s*[:=\-]\s*\**\s*(pass|fail|true|false)", re.IGNORECASE)
DEFINES_VERIFY = re.compile(r"^\s*def\s+verify\s*\(", re.MULTILINE)


def parse_verification(text: str) -> Verdict:
    """The verdict of the last `VERIFICATION: pass|fail` line, else UNKNOWN."""
    for line in reversed(text.strip().splitlines()):
        if match := VERIFICATION_LINE.search(line):
            return Verdict.OK if match.group(1).lower() in ("pass", "true") else Verdict.REVISE
    return Verdict.UNKNOWN


@register
class ProgCo(Strategy):
    name = "progco"
    paper = "ProgCo: Program Helps Self-Correction of Large Language Models (Song et al., 2025)"
    summary = "a self-written verification program checks the answer; refine the answer and the program"
    roles = ("generator", "verifier", "executor", "critic", "refiner")

    class Params(BaseModel):
        max_rounds: int = Field(3, ge=0, description="verification turns (the paper: T = 3)")
        execution: Literal["llm", "python"] = Field(
            "llm", description="llm: the model executes its pseudo-program (the paper); "
            "python: the sandbox runs a real verify(answer) (a ProgramFeedback)",
        )

    def __init__(self, feedback: FeedbackSource | None = None, **params: Any) -> None:
        super().__init__(feedback, **params)
        if feedback is not None and not isinstance(feedback, ProgramFeedback):
            raise StrategyError("progco verifies with its own program: give no feedback source "
                                f"or a ProgramFeedback, not {getattr(feedback, 'name', feedback)!r}")

    params: Params

    @property
    def executes_code(self) -> bool:
        return self.params.execution == "python" or super().executes_code

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        if self.params.max_rounds == 0:  # nothing will be verified, so no program is written
            candidate = ctx.record(round=0, kind="draft", text=await ctx.first_draft(problem))
            return Final(candidate=candidate, stop_reason="max_rounds")
        source = self.feedback if isinstance(self.feedback, ProgramFeedback) else None
        if source is None and self.params.execution == "python":
            source = ProgramFeedback()
        written = source.program_for(problem, ctx) if source else self.write_program(problem, ctx)
        draft, program = await both(ctx.first_draft(problem), written)
        version = 0
        candidate = ctx.record(round=0, kind="draft", text=draft)
        for turn in range(1, self.params.max_rounds + 1):
            candidate.metadata |= {"program": program, "program_version": version}
            judgement = await self.verify(problem, program, candidate.text, source, ctx)
            ctx.annotate(candidate, judgement)
            if judgement.verdict is Verdict.OK:
                return Final(candidate=self.select(ctx.candidates), stop_reason="verified")
            trace = candidate.metadata["trace"] = judgement.text
            repair = self.repair(problem, program, candidate.text, trace, source is not None, ctx)
            refined = None
            if judgement.verdict is Verdict.UNKNOWN:
                repaired = await repair
            else:
                (feedback, refined), repaired = await both(
                    self.feedback_and_refine(problem, program, candidate.text, trace, ctx), repair)
                judgement = judgement.model_copy(update={"text": feedback})
            if repaired is None:
                candidate.metadata["repair"] = "unparsed: program kept"
            elif repaired != program:
                program, version = repaired, version + 1
                candidate.metadata["repaired_program"] = program
                if source is not None:
                    source.set_program(problem, program, ctx)
            ctx.annotate(candidate, judgement)  # the feedback shown and the repair, into the trace
            if refined is not None:
                candidate = ctx.record(round=turn, kind="refine", text=refined, parent=candidate.seq,
                                       metadata={"program": program, "program_version": version})
        return Final(candidate=self.select(ctx.candidates), stop_reason="max_rounds")

    async def verify(
        self, problem: Problem, program: str, solution: str, source: ProgramFeedback | None, ctx: Context
    ) -> Feedback:
        """Run the program on the solution: for real in the sandbox, or by the model (ProgVe)."""
        if self.params.execution == "python" and source is not None:
            return await source.judge(problem, solution, ctx)
        case = CASE.format(problem=problem.prompt, program=program, solution=solution)
        reply = await ctx.ask("executor", EXECUTE.format(case=case))
        verdict = parse_verification(reply)
        score = {Verdict.OK: 1.0, Verdict.REVISE: 0.0}.get(verdict)
        return Feedback(verdict=verdict, text=reply.strip(), score=score)

    async def write_program(self, problem: Problem, ctx: Context) -> str:
        return extract_code(await ctx.ask("verifier", WRITE_PROGRAM.format(problem=problem.prompt)), "verify")

    async def feedback_and_refine(
        self, problem: Problem, program: str, solution: str, trace: str, ctx: Context
    ) -> tuple[str, str]:
        """The trace turned into feedback, then a refinement told that feedback may be wrong."""
        case = CASE.format(problem=problem.prompt, program=program, solution=solution)
        feedback = (await ctx.ask("critic", FEEDBACK.format(case=case, trace=trace))).strip()
        refined = await ctx.ask("refiner", REFINE.format(
            problem=problem.prompt, solution=solution, feedback=feedback))
        return feedback, refined

    async def repair(
        self, problem: Problem, program: str, solution: str, trace: str, python: bool, ctx: Context
    ) -> str | None:
        """The reflected-on program (maybe unchanged), or None when the reply holds no usable program."""
        case = CASE.format(problem=problem.prompt, program=program, solution=solution)
        prompt = REPAIR.format(case=case, trace=trace, python=PYTHON_NOTE if python else "")
        reply = await ctx.ask("verifier", prompt)
        code = extract_code(reply, "verify")
        usable = DEFINES_VERIFY.search(code) if python else re.search(r"\bverify\s*\(", code)
        return code if usable else None

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The last candidate that passed verification, else the last one."""
        passed = [c for c in candidates if c.verdict is Verdict.OK]
        return passed[-1] if passed else (candidates[-1] if candidates else None)

"""Reflexion for code (Shinn et al. 2023): test, reflect in words, retry with the reflections in memory.

    tests = the problem's visible tests (judged by the feedback source), or, when it has none,
            M(write N asserts | x) kept only where a line compiles as an assert statement
            (written from the problem statement alone, concurrently with the first draft)
    y0 = M(generate | x);  r0 = run the tests on y0        (execution costs no model call)
    memory = []
    for t in 1..T while r_{t-1} fails:
        memory += [M(reflect: why did y_{t-1} fail? | x, y_{t-1}, r_{t-1})]
        y_t = M(implement | x, y_{t-1}, r_{t-1}, memory);  r_t = run the tests on y_t
    final = the last y that passed its tests, else the last y

The tests that stop the loop are visible or model-written, never the hidden
grading tests (the paper's code checks those to stop early: an oracle leak not
copied here). Model-written tests can be wrong; passing them is the paper's
stop rule all the same. A verdict of UNKNOWN (no usable tests) ends the loop
with the draft rather than reflecting on nothing. A feedback source given to the
strategy (a critic, a program, or an oracle's hidden tests) judges every attempt
whenever one is given, so no tests are written then and `tests` only says where
the default source's tests come from. Each redraft records the reflection it was written from and the
memory it saw; the draft records the written tests and how many were dropped.
"""

from __future__ import annotations

import ast
import re
from typing import Literal

from pydantic import BaseModel, Field

from redraft.context import Context, both
from redraft.feedback.tests import TestsFeedback, candidate_program
from redraft.sandbox import run_test_cases
from redraft.strategies.base import Final, Strategy
from redraft.strategies.registry import register
from redraft.tasks.base import Problem
from redraft.tasks.extract import extract_code
from redraft.trace import Candidate, Feedback, Verdict

WRITE_TESTS = """\
Write {n} short unit tests for the function this problem asks for, as Python \
`assert` statements, one per line, each on a single line (for example \
`assert add(1, 2) == 3`). Work out each expected value from the problem statement \
alone; cover typical inputs and edge cases. Reply with the assert lines only.

Problem:
{problem}"""
REFLECT = """\
Your implementation below failed some unit tests. In a few sentences, explain why \
it is wrong, as the test results show, and what must change. You will use this as \
a hint when you try again. Do not write the implementation.

Problem:
{problem}

Implementation:
```python
{code}
```

Test results:
{results}"""
IMPLEMENT = """\
{problem}

Your previous implementation:
```python
{code}
```

Its test results:
{results}

Your reflections on your failed attempts so far:
{reflections}

Write an improved implementation, guided by the reflections. Reply with the complete \
function (restate its signature, include its imports) in a single ```python code block."""

ASSERT_LINE = re.compile(r"^\s*(?:[-*]|\d+[.)])?\s*`*\s*(assert\b.*?)\s*`*\s*$")
#: Verdicts that end the loop: the tests pass, or there are no tests to learn from.
STOPS = {Verdict.OK: "tests_passed", Verdict.UNKNOWN: "unknown_verdict"}


def is_assert(source: str) -> bool:
    """Whether `source` parses as exactly one `assert` statement."""
    try:
        body = ast.parse(source).body
    except (SyntaxError, ValueError):
        return False
    return len(body) == 1 and isinstance(body[0], ast.Assert)


def parse_asserts(text: str, limit: int) -> tuple[list[str], int]:
    """The first `limit` distinct one-line asserts in a reply, and how many assert lines were dropped.

    Models number their tests, bullet them, wrap them in backticks or fences and
    write broken ones; a test that cannot run would feed the model wrong
    feedback, so only lines that compile as an assert statement are kept.
    """
    kept: list[str] = []
    dropped = 0
    for line in text.splitlines():
        match = ASSERT_LINE.match(line)
        if match is None:
            continue
        source = match.group(1)
        if not is_assert(source):
            dropped += 1
        elif source not in kept:
            kept.append(source)
    return kept[:limit], dropped


async def run_written_tests(problem: Problem, text: str, tests: list[str]) -> Feedback:
    """Run the model's own asserts on a candidate; the results read as in the paper's prompts."""
    if not tests:
        return Feedback(verdict=Verdict.UNKNOWN, text="The model wrote no usable tests.")
    results = await run_test_cases(candidate_program(problem, text), tests)
    failed = [r for r in results if not r.passed]
    score = 1 - len(failed) / len(results)
    if not failed:
        return Feedback(verdict=Verdict.OK, score=score, text=f"All {len(results)} tests passed.")
    passed = "\n".join(r.test for r in results if r.passed) or "(none)"
    failing = "\n".join(r.message or r.test for r in failed)
    return Feedback(verdict=Verdict.REVISE, score=score,
                    text=f"Tests passed:\n{passed}\n\nTests failed:\n{failing}")


@register
class Reflexion(Strategy):
    name = "reflexion"
    paper = "Reflexion: Language Agents with Verbal Reinforcement Learning (Shinn et al., 2023)"
    summary = "run tests (given or self-written), reflect on failures in words, retry with that memory"
    roles = ("generator", "test_writer", "reflector", "refiner")

    class Params(BaseModel):
        max_rounds: int = Field(4, ge=0, description="reflect-and-retry rounds after the draft "
                                "(the paper's HumanEval runs: 5 trials in all)")
        tests: Literal["visible", "written"] = Field(
            "visible", description="visible: the problem's tests via the feedback source, "
            "model-written when it has none; written: always model-written (the paper's HumanEval runs)",
        )
        n_tests: int = Field(6, ge=1, description="model-written tests kept (the paper: at most 6)")
        memory: int | None = Field(None, ge=1, description="reflections shown when retrying, the "
                                   "newest kept (None: all; the paper bounds this at 1-3)")

    params: Params

    @property
    def executes_code(self) -> bool:
        return True  # the candidate's program runs against its tests, given or self-written

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        source = self.feedback or TestsFeedback()
        written = self.feedback is None and (self.params.tests == "written"
                                             or not problem.metadata.get("tests"))
        given = f"feedback:{getattr(self.feedback, 'name', 'given')}" if self.feedback else "visible"
        tests: list[str] = []
        metadata: dict[str, object] = {"tests_source": "written" if written else given}
        if written:
            prompt = WRITE_TESTS.format(n=self.params.n_tests, problem=problem.prompt)
            draft, reply = await both(ctx.first_draft(problem), ctx.ask("test_writer", prompt))
            tests, dropped = parse_asserts(reply, self.params.n_tests)
            metadata |= {"written_tests": tests, "dropped_test_lines": dropped}
        else:
            draft = await ctx.first_draft(problem)

        async def check(candidate: Candidate) -> Feedback:
            judgement = await (run_written_tests(problem, candidate.text, tests) if written
                               else source.judge(problem, candidate.text, ctx))
            ctx.annotate(candidate, judgement)
            return judgement

        candidate = ctx.record(round=0, kind="draft", text=draft, metadata=metadata)
        judgement = await check(candidate)
        memory: list[str] = []
        for round_number in range(1, self.params.max_rounds + 1):
            if judgement.verdict in STOPS:
                break
            code = extract_code(candidate.text, problem.metadata.get("entry_point"))
            reflection = await ctx.ask("reflector", REFLECT.format(
                problem=problem.prompt, code=code, results=judgement.text))
            memory.append(reflection.strip())
            shown = memory[-self.params.memory:] if self.params.memory else list(memory)
            reflections = "\n".join(f"{i}. {r}" for i, r in enumerate(shown, 1))
            retry = await ctx.ask("refiner", IMPLEMENT.format(
                problem=problem.prompt, code=code, results=judgement.text, reflections=reflections))
            candidate = ctx.record(round=round_number, kind="refine", text=retry, parent=candidate.seq,
                                   metadata={"reflection": memory[-1], "memory": shown})
            judgement = await check(candidate)
        return Final(candidate=self.select(ctx.candidates),
                     stop_reason=STOPS.get(judgement.verdict, "max_rounds"))

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The last candidate that passed its (visible or model-written) tests, else the last one."""
        passed = [c for c in candidates if c.verdict is Verdict.OK]
        return passed[-1] if passed else (candidates[-1] if candidates else None)

"""Visible tests come from the docstring examples and agree with the canonical solutions."""

from __future__ import annotations

import asyncio

from redraft.feedback import TestsFeedback, Verdict
from redraft.sandbox import run_test_cases
from redraft.tasks import HumanEval
from redraft.tasks.humaneval import humaneval_records, visible_tests

KNOWN_WRONG_DOCSTRINGS = {"humaneval/47"}  # median's docstring example says 15.0; the answer is 8.0


def test_doctest_and_inline_examples_become_asserts() -> None:
    prompt = 'def f(x):\n    """Double.\n    >>> f(2)\n    4\n    >>> f(\'a\')\n    \'aa\'\n    """\n'
    assert visible_tests(prompt) == ["assert f(2) == 4", "assert f('a') == 'aa'"]
    inline = 'def g(x):\n    """\n    g(3) ➞ True\n    g(x) == true\n    """\n'
    assert visible_tests(inline, "g") == ["assert g(3) == True"]  # `true`, `x`: not literals


def test_visible_tests_pass_the_canonical_solutions() -> None:
    records = humaneval_records()[:60]
    problems = HumanEval().load(limit=60)

    async def failures() -> list[str]:
        failed = []
        for record, problem in zip(records, problems, strict=True):
            tests = problem.metadata["tests"]
            if not tests or problem.id in KNOWN_WRONG_DOCSTRINGS:
                continue
            results = await run_test_cases(record["prompt"] + record["canonical_solution"], tests)
            failed += [f"{problem.id}: {r.message}" for r in results if not r.passed]
        return failed

    assert sum(1 for p in problems if p.metadata["tests"]) >= 35
    assert asyncio.run(failures()) == []


def test_tests_feedback_on_a_real_humaneval_problem() -> None:
    problem = HumanEval().load(limit=1)[0]
    record = humaneval_records()[0]
    good = f"```python\n{record['prompt']}{record['canonical_solution']}```"
    bad = "```python\ndef has_close_elements(numbers, threshold):\n    return True\n```"
    feedback = TestsFeedback()
    assert asyncio.run(feedback.judge(problem, good)).verdict is Verdict.OK
    verdict = asyncio.run(feedback.judge(problem, bad))
    assert verdict.verdict is Verdict.REVISE and "returned True" in verdict.text

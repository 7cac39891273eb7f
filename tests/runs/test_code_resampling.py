"""Resampling on code: samples carry their visible-test result (None with no visible tests to run), run
once per distinct program, and the curve picks the first passing one, never a vote over program texts."""

from __future__ import annotations

import asyncio

from redraft.feedback.tests import TestsFeedback
from redraft.runs.evaluation import EvalConfig, Evaluation
from redraft.runs.metrics import resampled_correct, resampling_rule
from redraft.runs.store import RunStore
from redraft.trace import Candidate
from tests.runs.test_metrics import item

GOOD = "```python\ndef add(a, b):\n    return a + b\n```"
BAD = "```python\ndef add(a, b):\n    return a - b\n```"


def test_without_visible_tests_resampling_takes_the_first_sample_not_a_vote() -> None:
    samples = [
        {"answer": "x", "correct": False, "visible": None},
        {"answer": "y", "correct": True, "visible": None},
        {"answer": "y", "correct": True, "visible": None},
    ]
    code = item("self_consistency", 0, [True], samples=samples)
    assert not resampled_correct(code, 3)  # a vote over program texts would pick "y"
    assert resampling_rule([code]) == "first passing the visible tests"
    voted = item("self_consistency", 0, [True], samples=[{"answer": "y", "correct": True}])
    assert resampling_rule([voted]) == "majority vote" and resampling_rule([voted, code]) == "mixed"


def test_a_sample_record_runs_the_visible_tests_once_per_program(tmp_path, monkeypatch) -> None:
    evaluation = Evaluation(
        EvalConfig(task="humaneval", strategies=["direct"], limit=1), RunStore(tmp_path / "runs.db")
    )
    [problem] = evaluation.problems
    runs: list[str] = []
    judge = TestsFeedback.judge

    async def counted(self: TestsFeedback, problem, candidate, ctx=None):  # type: ignore[no-untyped-def]
        runs.append(candidate)
        return await judge(self, problem, candidate, ctx)

    monkeypatch.setattr(TestsFeedback, "judge", counted)

    async def correct(text: str) -> bool:
        return text == GOOD

    async def records(problem_, texts: list[str]) -> list[dict]:
        verdicts: dict[str, bool | None] = {}
        return [
            await evaluation.runner.sample_record(
                problem_, Candidate(seq=i, round=0, kind="sample", text=t), correct, verdicts
            )
            for i, t in enumerate(texts)
        ]

    fixed = problem.model_copy(
        update={
            "metadata": {
                **problem.metadata,
                "entry_point": "add",
                "prompt": "",
                "tests": ["assert add(1, 2) == 3"],
            }
        }
    )
    got = asyncio.run(records(fixed, [BAD, GOOD, BAD, GOOD]))
    assert [r["visible"] for r in got] == [False, True, False, True] and runs == [BAD, GOOD]
    bare = problem.model_copy(update={"metadata": {**problem.metadata, "tests": []}})
    assert [r["visible"] for r in asyncio.run(records(bare, [BAD, GOOD]))] == [None, None]
    assert runs == [BAD, GOOD, BAD, GOOD]  # judged (no tests: no sandbox run), once per program

"""Each feedback source judges real candidates: sandboxed tests, programs, oracle, checklist."""

from __future__ import annotations

import asyncio

import pytest

from redraft.context import Context
from redraft.feedback import (
    ChecklistFeedback,
    FeedbackError,
    OracleFeedback,
    ProgramFeedback,
    TestsFeedback,
    Verdict,
    get_feedback,
)
from redraft.feedback.checklist import parse_checklist
from redraft.models.scripted import ScriptedModel
from redraft.strategies.self_refine import SelfRefine
from redraft.tasks import MultiArith
from redraft.tasks.base import Problem
from redraft.tasks.extract import extract_number
from tests.helpers import managed, run_scripted

CODE_PROBLEM = Problem(
    id="add", prompt="Write add(a, b).",
    metadata={"tests": ["assert add(1, 2) == 3", "assert add(0, 0) == 0"],
              "entry_point": "add", "prompt": "def add(a, b):\n    \"\"\"Add.\"\"\"\n",
              "test": "def check(candidate):\n    assert candidate(2, 2) == 4\n"},
)
GOOD = "```python\ndef add(a, b):\n    return a + b\n```"
BAD = "```python\ndef add(a, b):\n    return a - b\n```"
NUMERIC = Problem(id="n1", prompt="Tom has 2 apples and buys 2 more. How many?", reference="4")


def ctx_for(model: ScriptedModel) -> Context:
    return Context({"generator": managed(model)}, extract=extract_number)


def judge(source, problem: Problem, candidate: str, model: ScriptedModel | None = None):
    return asyncio.run(source.judge(problem, candidate, ctx_for(model or ScriptedModel([]))))


def test_tests_feedback_passes_good_code() -> None:
    feedback = judge(TestsFeedback(), CODE_PROBLEM, GOOD)
    assert feedback.verdict is Verdict.OK and feedback.score == 1.0


def test_tests_feedback_lists_failing_tests_with_actual_values() -> None:
    feedback = judge(TestsFeedback(), CODE_PROBLEM, BAD)
    assert feedback.verdict is Verdict.REVISE and feedback.score == 0.5
    assert "failed 1 of 2 tests" in feedback.text
    assert "assert add(1, 2) == 3" in feedback.text and "-1" in feedback.text


def test_tests_feedback_pass_fail_only_says_how_many() -> None:
    feedback = judge(TestsFeedback(detail="pass_fail"), CODE_PROBLEM, BAD)
    assert feedback.text == "The code failed 1 of 2 tests."


def test_tests_feedback_completes_a_body_only_answer_with_the_stub() -> None:
    feedback = judge(TestsFeedback(), CODE_PROBLEM, "    return a + b")
    assert feedback.verdict is Verdict.OK


def test_tests_feedback_without_tests_is_unknown() -> None:
    feedback = judge(TestsFeedback(), Problem(id="x", prompt="p"), GOOD)
    assert feedback.verdict is Verdict.UNKNOWN


def test_hidden_tests_are_an_oracle() -> None:
    source = TestsFeedback(hidden=True)
    assert source.oracle and not TestsFeedback().oracle
    assert judge(source, CODE_PROBLEM, GOOD).verdict is Verdict.OK
    assert judge(source, CODE_PROBLEM, BAD).verdict is Verdict.REVISE


def test_oracle_feedback_scores_against_the_reference_without_revealing_it() -> None:
    source = OracleFeedback(MultiArith())
    right = judge(source, NUMERIC, "2 + 2 = 4. The answer is 4.")
    wrong = judge(source, NUMERIC, "The answer is 5.")
    assert (right.verdict, wrong.verdict) == (Verdict.OK, Verdict.REVISE)
    assert "4" not in wrong.text


def test_oracle_runs_are_marked_in_the_store(tmp_path) -> None:
    from redraft.runs.store import RunStore

    store = RunStore(tmp_path / "r.db")
    model = ScriptedModel(["The answer is 5.", "The answer is 4."])
    outcome = run_scripted(SelfRefine(feedback=OracleFeedback(MultiArith())), model, store=store,
                           problem=NUMERIC)
    assert outcome.oracle and outcome.text == "The answer is 4." and outcome.stop_reason == "verdict"
    assert store.get_run(outcome.run_id).oracle


PROGRAM = "```python\ndef verify(answer: str) -> bool:\n    return float(answer) - 2 == 2\n```"


def test_program_feedback_runs_the_model_written_checker_once_per_problem() -> None:
    verifier = ScriptedModel([PROGRAM])
    source = ProgramFeedback()
    ctx = ctx_for(verifier)

    async def both():
        return (await source.judge(NUMERIC, "So the answer is 4.", ctx),
                await source.judge(NUMERIC, "The answer is 5.", ctx))

    accepted, rejected = asyncio.run(both())
    assert accepted.verdict is Verdict.OK and rejected.verdict is Verdict.REVISE
    assert len(verifier.history) == 1
    assert "Work backwards" in verifier.history[0][0][0]["content"]


def test_program_feedback_reports_a_broken_program_as_unknown() -> None:
    broken = ScriptedModel(["```python\ndef verify(answer):\n    return undefined_name\n```"])
    feedback = judge(ProgramFeedback(), NUMERIC, "The answer is 4.", broken)
    assert feedback.verdict is Verdict.UNKNOWN and "NameError" in feedback.text


def test_program_feedback_without_an_answer_asks_for_one() -> None:
    feedback = judge(ProgramFeedback(), NUMERIC, "I do not know.", ScriptedModel([PROGRAM]))
    assert feedback.verdict is Verdict.REVISE


def test_checklist_scores_the_fraction_of_items_met() -> None:
    judge_model = ScriptedModel(["1. yes, fine\n2. no - too long\n3. **yes**"])
    source = ChecklistFeedback(["Polite", "Short", "Mentions the date"])
    feedback = judge(source, Problem(id="o", prompt="Write an invite."), "Dear all...", judge_model)
    assert feedback.verdict is Verdict.REVISE and feedback.score == pytest.approx(2 / 3)
    assert "Mentions the date" in judge_model.history[0][0][0]["content"]


def test_checklist_all_met_is_ok_and_unanswered_items_are_unknown() -> None:
    source = ChecklistFeedback(["A", "B"])
    problem = Problem(id="o", prompt="p")
    assert judge(source, problem, "c", ScriptedModel(["1. yes\n2. yes"])).verdict is Verdict.OK
    assert judge(source, problem, "c", ScriptedModel(["1. yes"])).verdict is Verdict.UNKNOWN
    assert parse_checklist("1) No\n2: YES\n9. yes", 2) == {1: False, 2: True}


def test_registry_builds_sources_and_rejects_unknown_names() -> None:
    from redraft.feedback.registry import FEEDBACK_SOURCES

    for info in FEEDBACK_SOURCES:  # every listed source can be built, and is labelled correctly
        assert get_feedback(info.name, MultiArith()).oracle == info.oracle
    assert get_feedback("tests:hidden").oracle
    assert get_feedback("oracle", MultiArith()).oracle
    with pytest.raises(FeedbackError, match="oracle feedback needs a task"):
        get_feedback("oracle")
    with pytest.raises(FeedbackError, match="unknown feedback source 'vibes'"):
        get_feedback("vibes")


def test_program_feedback_keeps_programs_per_solve() -> None:
    verifier = ScriptedModel([PROGRAM, "```python\ndef verify(answer):\n    return False\n```"])
    source = ProgramFeedback()
    first, second = ctx_for(verifier), ctx_for(verifier)

    async def go():
        await source.judge(NUMERIC, "The answer is 4.", first)
        source.set_program(NUMERIC, "def verify(answer):\n    return True\n", first)
        return await source.judge(NUMERIC, "The answer is 5.", second)

    verdict = asyncio.run(go())
    assert len(verifier.history) == 2  # a new solve writes its own program
    assert verdict.verdict is Verdict.REVISE  # the first solve's repaired program did not leak

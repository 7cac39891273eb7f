"""ProgCo's control flow, call by call, on scripted models (LLM execution) and the real sandbox."""

from __future__ import annotations

import pytest

from redraft.context import Budget
from redraft.feedback.program import ProgramFeedback
from redraft.feedback.tests import TestsFeedback
from redraft.models.base import Message
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.base import StrategyError
from redraft.strategies.progco import ProgCo, parse_verification
from redraft.tasks.base import Problem
from redraft.tasks.extract import extract_number
from redraft.trace import Verdict
from tests.helpers import roles, run_scripted

APPLES = Problem(id="apples", prompt="Tom has 2 apples and buys 2 more. How many does he have?")
PSEUDO = "```\ndef verify(answer):\n    return answer - 2 == 2\n```"
REPAIRED = "```\ndef verify(answer):\n    bought = 2\n    return answer - bought == 2\n```"
REAL = "```python\ndef verify(answer: str) -> bool:\n    return float(answer) - 2 == 2\n```"
CRASHING = "```python\ndef verify(answer: str) -> bool:\n    return undefined_name\n```"


def scripted(verdicts: list[str], *, drafts: tuple[str, ...] = ("The answer is 5.", "The answer is 4."),
             program: str = PSEUDO, repairs: tuple[str, ...] = (REPAIRED,)) -> ScriptedModel:
    """Replies by prompt: the program is written concurrently with the draft, and repaired
    concurrently with the refinement. `verdicts` are the executor's last lines, in order."""
    drafts_left, verdicts_left, repairs_left = list(drafts), list(verdicts), list(repairs)

    def reply(messages: list[Message]) -> str:
        prompt = messages[-1]["content"]
        if prompt.startswith(("Write a verification program", "Write a Python function `verify")):
            return program
        if prompt.startswith("Execute the verification program"):
            return f"verify(5): 5 - 2 = 3, not 2, so False.\n{verdicts_left.pop(0)}"
        if prompt.startswith("A verification program rejected"):
            return "The answer fails the condition that 2 + 2 apples were bought."
        if prompt.startswith("The verification program below was run"):
            return repairs_left.pop(0) if repairs_left else program
        return drafts_left.pop(0)

    return ScriptedModel(reply)


def prompt_with(model: ScriptedModel, text: str) -> str:
    """The first prompt sent that contains `text`."""
    return next(m[-1]["content"] for m, _ in model.history if text in m[-1]["content"])


def assert_turn(calls: list[str]) -> None:
    """A failing turn: feedback then refinement, with the program repair running concurrently."""
    assert sorted(calls) == ["critic", "refiner", "verifier"]
    assert calls.index("critic") < calls.index("refiner")


def test_an_answer_that_passes_verification_stops_at_once(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = scripted(["VERIFICATION: pass"], drafts=("The answer is 4.",))
    outcome = run_scripted(ProgCo(), model, store=store, problem=APPLES, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator", "verifier", "executor"]
    assert (outcome.answer, outcome.stop_reason) == ("4", "verified")
    draft = outcome.candidates[0]
    assert (draft.verdict, draft.score, draft.metadata["program_version"]) == (Verdict.OK, 1.0, 0)
    assert "return answer - 2 == 2" in draft.metadata["program"]
    program_prompt = prompt_with(model, "verify(answer)")
    assert "Work backwards" in program_prompt and APPLES.prompt in program_prompt


def test_a_failed_verification_becomes_feedback_refines_the_answer_and_repairs_the_program(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = scripted(["VERIFICATION: fail", "VERIFICATION: pass"])
    outcome = run_scripted(ProgCo(), model, store=store, problem=APPLES, extract=extract_number)
    calls = roles(store, outcome.run_id)
    assert calls[:3] == ["generator", "verifier", "executor"] and calls[6:] == ["executor"]
    assert_turn(calls[3:6])
    assert (outcome.answer, outcome.stop_reason) == ("4", "verified")
    draft, refined = outcome.candidates
    assert draft.verdict is Verdict.REVISE and draft.score == 0.0
    assert draft.feedback == "The answer fails the condition that 2 + 2 apples were bought."
    assert draft.metadata["trace"].endswith("VERIFICATION: fail")
    assert "bought = 2" in draft.metadata["repaired_program"]
    assert (refined.round, refined.verdict, refined.metadata["program_version"]) == (1, Verdict.OK, 1)
    assert "bought = 2" in refined.metadata["program"]
    refine_prompt = prompt_with(model, "Your previous solution")
    assert "may itself be wrong" in refine_prompt and "2 + 2 apples" in refine_prompt
    assert "The answer is 5." in refine_prompt


def test_an_unparseable_verification_repairs_the_program_and_re_verifies_the_same_answer(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = scripted(["I am not sure.", "VERIFICATION: pass"], drafts=("The answer is 4.",))
    outcome = run_scripted(ProgCo(), model, store=store, problem=APPLES, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator", "verifier", "executor", "verifier", "executor"]
    [draft] = outcome.candidates
    assert (draft.verdict, draft.metadata["program_version"]) == (Verdict.OK, 1)
    assert outcome.stop_reason == "verified"
    assert "bought = 2" in model.history[-1][0][0]["content"]  # re-run with the repaired program


def test_stops_after_t_turns_and_returns_the_last_refinement() -> None:
    drafts = ("The answer is 5.", "The answer is 6.", "The answer is 7.", "The answer is 8.")
    model = scripted(["VERIFICATION: fail"] * 3, drafts=drafts, repairs=())
    outcome = run_scripted(ProgCo(), model, problem=APPLES, extract=extract_number)
    assert (outcome.stop_reason, outcome.answer, len(model.history)) == ("max_rounds", "8", 2 + 3 * 4)
    assert [c.round for c in outcome.candidates] == [0, 1, 2, 3]
    assert outcome.candidates[-1].verdict is None  # the last redraft is not verified
    assert all(c.metadata["program_version"] == 0 for c in outcome.candidates)  # repairs kept it as is


def test_zero_rounds_is_the_plain_draft_without_a_program() -> None:
    model = scripted([], drafts=("The answer is 5.",))
    outcome = run_scripted(ProgCo(max_rounds=0), model, problem=APPLES, extract=extract_number)
    assert (outcome.answer, outcome.stop_reason, len(model.history)) == ("5", "max_rounds", 1)


def test_a_repair_without_a_program_keeps_the_old_one() -> None:
    model = scripted(["VERIFICATION: fail", "VERIFICATION: pass"], repairs=("The program looks fine.",))
    outcome = run_scripted(ProgCo(), model, problem=APPLES, extract=extract_number)
    draft, refined = outcome.candidates
    assert draft.metadata["repair"] == "unparsed: program kept"
    assert refined.metadata["program"] == draft.metadata["program"] and outcome.stop_reason == "verified"


def test_budget_exhaustion_returns_the_last_answer() -> None:
    model = scripted(["VERIFICATION: fail", "VERIFICATION: pass"])
    outcome = run_scripted(ProgCo(), model, problem=APPLES, extract=extract_number,
                           budget=Budget(max_calls=6))
    assert (outcome.stop_reason, outcome.answer, len(model.history)) == ("budget", "4", 6)
    assert outcome.candidates[-1].verdict is None


def test_python_execution_runs_the_program_in_the_sandbox(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = scripted([], program=REAL, repairs=())
    outcome = run_scripted(ProgCo(execution="python"), model, store=store, problem=APPLES,
                           extract=extract_number)
    calls = roles(store, outcome.run_id)
    assert calls[:2] == ["generator", "verifier"] and len(calls) == 5  # no executor: the sandbox runs it
    assert_turn(calls[2:])
    assert (outcome.answer, outcome.stop_reason) == ("4", "verified")
    assert "rejects the answer 5" in outcome.candidates[0].metadata["trace"]
    assert "Python function `verify" in prompt_with(model, "Reflect on the program")  # a Python repair


def test_python_execution_repairs_a_crashing_program_then_verifies_with_it() -> None:
    source = ProgramFeedback()
    model = scripted([], program=CRASHING, repairs=(REAL,), drafts=("The answer is 4.",))
    outcome = run_scripted(ProgCo(source, execution="python"), model, problem=APPLES,
                           extract=extract_number)
    [draft] = outcome.candidates
    assert (draft.verdict, draft.metadata["program_version"]) == (Verdict.OK, 1)
    assert "float(answer)" in draft.metadata["program"] and outcome.stop_reason == "verified"
    assert len(model.history) == 3  # draft, program, repair: no feedback or refinement on a crash


def test_only_a_program_feedback_can_be_its_verifier() -> None:
    with pytest.raises(StrategyError, match="ProgramFeedback"):
        ProgCo(TestsFeedback())
    assert ProgCo(ProgramFeedback(), execution="python").feedback is not None


def test_parse_verification_reads_the_last_verdict_line() -> None:
    assert parse_verification("step 1 ...\nVERIFICATION: pass") is Verdict.OK
    assert parse_verification("**Verification:** FAIL.") is Verdict.REVISE
    assert parse_verification("VERIFICATION: fail\nso... VERIFICATION = true") is Verdict.OK
    assert parse_verification("It looks right to me.") is Verdict.UNKNOWN

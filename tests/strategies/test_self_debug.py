"""Self-Debugging's control flow, call by call, on scripted models and the real sandbox."""

from __future__ import annotations

from redraft.context import Budget
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.self_debug import (
    EXPLAIN_INSTRUCTION,
    FIX_AFTER_EXPLANATION,
    SIMPLE_FEEDBACK,
    SelfDebug,
)
from redraft.tasks.base import Problem
from redraft.trace import Candidate, Verdict
from tests.helpers import roles, run_scripted

CODE = Problem(
    id="add", prompt="Write add(a, b) that returns the sum of a and b.",
    metadata={"tests": ["assert add(1, 2) == 3", "assert add(0, 0) == 0"], "entry_point": "add",
              "prompt": 'def add(a, b):\n    """Add."""\n'},
)
GOOD = "```python\ndef add(a, b):\n    return a + b\n```"
BAD = "```python\ndef add(a, b):\n    return a - b\n```"


def test_a_draft_that_passes_the_visible_tests_is_kept_without_debugging() -> None:
    model = ScriptedModel([GOOD])
    outcome = run_scripted(SelfDebug(), model, problem=CODE)
    assert (outcome.text, outcome.stop_reason, len(model.history)) == (GOOD, "tests_passed", 1)
    assert outcome.candidates[0].verdict is Verdict.OK and outcome.candidates[0].score == 1.0


def test_unit_test_feedback_shows_the_failing_test_with_its_actual_value(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = ScriptedModel([BAD, GOOD])
    outcome = run_scripted(SelfDebug(), model, problem=CODE, store=store)
    assert roles(store, outcome.run_id) == ["generator", "refiner"]
    assert (outcome.text, outcome.stop_reason) == (GOOD, "tests_passed")
    assert [(c.round, c.kind, c.verdict) for c in outcome.candidates] == [
        (0, "draft", Verdict.REVISE), (1, "refine", Verdict.OK)]
    fix_call = model.history[1][0]
    assert [m["role"] for m in fix_call] == ["user", "assistant", "user"]
    assert fix_call[1]["content"] == BAD
    assert "assert add(1, 2) == 3" in fix_call[2]["content"] and "-1" in fix_call[2]["content"]
    assert outcome.candidates[1].metadata["feedback_shown"] == outcome.candidates[0].feedback


def test_simple_feedback_says_only_that_the_code_is_wrong() -> None:
    model = ScriptedModel([BAD, GOOD])
    outcome = run_scripted(SelfDebug(feedback_kind="simple"), model, problem=CODE)
    told = model.history[1][0][-1]["content"]
    assert told.startswith(SIMPLE_FEEDBACK) and "add(1, 2)" not in told
    assert "assert add(1, 2) == 3" in outcome.candidates[0].feedback  # the trace keeps the real result
    assert outcome.stop_reason == "tests_passed"


def test_explanation_feedback_asks_for_a_line_by_line_explanation_in_a_separate_call(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = ScriptedModel([BAD, "Line 2 subtracts b instead of adding it.", GOOD])
    outcome = run_scripted(SelfDebug(feedback_kind="explanation"), model, problem=CODE, store=store)
    assert roles(store, outcome.run_id) == ["generator", "explainer", "refiner"]
    explain_call, fix_call = model.history[1][0], model.history[2][0]
    assert EXPLAIN_INSTRUCTION in explain_call[-1]["content"]
    assert "assert add(1, 2) == 3" in explain_call[-1]["content"]
    assert [m["role"] for m in fix_call] == ["user", "assistant", "user", "assistant", "user"]
    assert fix_call[3]["content"] == "Line 2 subtracts b instead of adding it."
    assert fix_call[4]["content"] == FIX_AFTER_EXPLANATION
    assert outcome.candidates[1].metadata["explanation"] == "Line 2 subtracts b instead of adding it."
    assert (outcome.text, outcome.stop_reason) == (GOOD, "tests_passed")


def test_stops_after_max_rounds_judging_every_attempt_and_keeps_the_conversation() -> None:
    model = ScriptedModel([BAD, BAD, BAD, BAD])
    outcome = run_scripted(SelfDebug(), model, problem=CODE)
    assert (outcome.stop_reason, len(model.history)) == ("max_rounds", 4)  # draft + 3 default rounds
    assert [c.verdict for c in outcome.candidates] == [Verdict.REVISE] * 4  # the last one is run too
    assert outcome.text == BAD and outcome.candidates[-1].round == 3
    assert len(model.history[-1][0]) == 7  # problem + 3 x (attempt, feedback)


def test_without_visible_tests_the_draft_is_returned_with_an_unknown_verdict() -> None:
    model = ScriptedModel([BAD])
    problem = Problem(id="x", prompt="Write add(a, b).", metadata={"entry_point": "add"})
    outcome = run_scripted(SelfDebug(), model, problem=problem)
    assert (outcome.text, outcome.stop_reason, len(model.history)) == (BAD, "unknown_verdict", 1)
    assert outcome.candidates[0].verdict is Verdict.UNKNOWN


def test_zero_rounds_judges_the_draft_only() -> None:
    outcome = run_scripted(SelfDebug(max_rounds=0), ScriptedModel([BAD]), problem=CODE)
    assert (outcome.stop_reason, outcome.candidates[0].verdict) == ("max_rounds", Verdict.REVISE)


def test_budget_exhaustion_returns_the_last_attempt() -> None:
    model = ScriptedModel([BAD, BAD, GOOD])
    outcome = run_scripted(SelfDebug(), model, problem=CODE, budget=Budget(max_calls=2))
    assert (outcome.stop_reason, len(model.history), len(outcome.candidates)) == ("budget", 2, 2)
    assert outcome.candidates[-1].verdict is Verdict.REVISE and outcome.text == BAD


def test_budget_cut_after_the_explanation_returns_the_draft() -> None:
    model = ScriptedModel([BAD, "explanation", GOOD])
    outcome = run_scripted(SelfDebug(feedback_kind="explanation"), model, problem=CODE,
                           budget=Budget(max_calls=2))
    assert (outcome.stop_reason, len(outcome.candidates), outcome.text) == ("budget", 1, BAD)


def test_final_answer_rule_prefers_the_last_passing_candidate() -> None:
    def candidate(seq: int, verdict: Verdict) -> Candidate:
        return Candidate(seq=seq, round=seq, kind="refine", text=str(seq), verdict=verdict)

    rule = SelfDebug().select
    assert rule([candidate(1, Verdict.OK), candidate(2, Verdict.OK), candidate(3, Verdict.REVISE)]).seq == 2
    assert rule([candidate(1, Verdict.REVISE), candidate(2, Verdict.REVISE)]).seq == 2
    assert rule([]) is None

"""If-or-Else prompting: two turns when the answers agree, a third only when they do not."""

from __future__ import annotations

from redraft.context import Budget
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.ioe import IOE_PROMPT, RECHECK_PROMPT, IfOrElse
from redraft.tasks.extract import extract_number
from tests.helpers import roles, run_scripted


def test_agreeing_turns_stop_after_two_calls(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = ScriptedModel(["2 + 2 = 4. The answer is 4.", "I am confident. The answer is 4."])
    outcome = run_scripted(IfOrElse(), model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator", "refiner"]
    assert (outcome.stop_reason, outcome.text) == ("agreed", "I am confident. The answer is 4.")
    assert [(c.round, c.kind) for c in outcome.candidates] == [(0, "draft"), (1, "ioe")]
    assert outcome.candidates[1].metadata["agrees_with_previous"] is True
    assert [s["temperature"] for _, s in model.history] == [0.0, 0.0]
    second_turn = model.history[1][0]
    assert [m["role"] for m in second_turn] == ["user", "assistant", "user"]
    assert second_turn[2]["content"] == IOE_PROMPT


def test_disagreeing_turns_get_a_third_recheck_turn(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    replies = ["The answer is 5.", "Updated: the answer is 4.", "Both checked: the answer is 4."]
    model = ScriptedModel(replies)
    outcome = run_scripted(IfOrElse(), model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator", "refiner", "refiner"]
    assert (outcome.stop_reason, outcome.text, outcome.answer) == ("rechecked", replies[2], "4")
    assert [c.kind for c in outcome.candidates] == ["draft", "ioe", "recheck"]
    assert outcome.candidates[1].metadata["agrees_with_previous"] is False
    third_turn = model.history[2][0]
    assert [m["content"] for m in third_turn] == [
        "What is 2 + 2?", replies[0], IOE_PROMPT, replies[1], RECHECK_PROMPT
    ]
    assert all(s["temperature"] == 0.0 for _, s in model.history)


def test_the_third_turn_is_final_even_if_it_returns_to_the_first_answer() -> None:
    model = ScriptedModel(["The answer is 5.", "The answer is 4.", "The answer is 5."])
    outcome = run_scripted(IfOrElse(), model, extract=extract_number)
    assert (outcome.answer, len(model.history)) == ("5", 3)


def test_answers_that_cannot_be_extracted_never_agree() -> None:
    model = ScriptedModel(["I do not know.", "I do not know.", "The answer is 4."])
    outcome = run_scripted(IfOrElse(), model, extract=extract_number)
    assert (outcome.stop_reason, outcome.answer, len(model.history)) == ("rechecked", "4", 3)


def test_budget_cut_before_the_third_turn_returns_the_second() -> None:
    model = ScriptedModel(["The answer is 5.", "The answer is 4.", "The answer is 4."])
    outcome = run_scripted(IfOrElse(), model, extract=extract_number, budget=Budget(max_calls=2))
    assert (outcome.stop_reason, outcome.answer, len(model.history)) == ("budget", "4", 2)


def test_temperature_can_be_changed() -> None:
    model = ScriptedModel(["The answer is 4.", "The answer is 4."])
    run_scripted(IfOrElse(temperature=0.5), model, extract=extract_number)
    assert [s["temperature"] for _, s in model.history] == [0.5, 0.5]

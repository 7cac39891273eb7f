"""Self-Refine's `stop=fixpoint` (ToolACE-R): a refinement that repeats its parent ends the loop, free."""

from __future__ import annotations

from redraft.models.scripted import ScriptedModel
from redraft.strategies.self_refine import SelfRefine
from redraft.tasks.extract import extract_number
from tests.helpers import run_scripted

REVISE = "The sum is wrong.\nVERDICT: revise"


def test_a_repeated_output_stops_before_it_is_judged_again() -> None:
    model = ScriptedModel(["The answer is 5.", REVISE, "The answer is 4.", REVISE, "  The answer is 4.\n"])
    outcome = run_scripted(SelfRefine(stop="fixpoint"), model, extract=extract_number)
    assert (outcome.stop_reason, outcome.answer, outcome.usage.calls) == ("fixpoint", "4", 5)
    assert [(c.round, c.metadata.get("fixpoint")) for c in outcome.candidates] == [
        (0, None),
        (1, None),
        (2, "output"),
    ]
    assert outcome.candidates[-1].verdict is None


def test_a_repeated_extracted_answer_is_a_fixpoint_too() -> None:
    model = ScriptedModel(["The answer is 4.", REVISE, "Re-checked: 2 + 2 = 4. The answer is 4."])
    outcome = run_scripted(SelfRefine(stop="fixpoint"), model, extract=extract_number)
    assert (outcome.stop_reason, outcome.text, outcome.usage.calls) == (
        "fixpoint",
        "Re-checked: 2 + 2 = 4. The answer is 4.",
        3,
    )
    assert outcome.candidates[-1].metadata["fixpoint"] == "answer"


def test_answers_that_cannot_be_extracted_are_no_fixpoint_unless_the_text_repeats() -> None:
    model = ScriptedModel(["no idea", REVISE, "still no idea", REVISE, "still no idea"])
    outcome = run_scripted(SelfRefine(stop="fixpoint"), model, extract=extract_number)
    assert (outcome.stop_reason, outcome.usage.calls) == ("fixpoint", 5)
    assert outcome.candidates[-1].metadata["fixpoint"] == "output"


def test_the_default_stop_ignores_repeats() -> None:
    model = ScriptedModel(["The answer is 4.", REVISE, "The answer is 4.", REVISE, "The answer is 4."])
    outcome = run_scripted(SelfRefine(max_rounds=2), model, extract=extract_number)
    assert (outcome.stop_reason, outcome.usage.calls) == ("max_rounds", 5)


def test_the_verdict_still_stops_a_fixpoint_run() -> None:
    model = ScriptedModel(["The answer is 5.", REVISE, "The answer is 4.", "Right.\nVERDICT: correct"])
    outcome = run_scripted(SelfRefine(stop="fixpoint"), model, extract=extract_number)
    assert (outcome.stop_reason, outcome.answer, outcome.usage.calls) == ("verdict", "4", 4)

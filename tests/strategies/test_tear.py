"""TEaR: translate, estimate MQM errors, refine; and its variants, call by call."""

from __future__ import annotations

from typing import Any

import pytest

from redraft.context import Budget
from redraft.feedback.critic import CriticFeedback
from redraft.feedback.mqm import MQMFeedback, mqm_feedback, parse_mqm
from redraft.models.scripted import ScriptedModel
from redraft.runs.outcome import Outcome
from redraft.runs.store import RunStore
from redraft.strategies.base import StrategyError
from redraft.strategies.tear import Tear
from redraft.tasks.base import Problem
from redraft.trace import Verdict
from tests.helpers import roles, run_scripted

REQUEST = Problem(id="t1", prompt='Translate into French: "The black cat sleeps."')
BAD, GOOD = "Le chien noir dort.", "Le chat noir dort."
ERRORS = 'major/accuracy: "chien" — mistranslation of "cat"\nminor/style: "noir" — placement is fine but flat'


def run(strategy: Tear, replies: list[str], **kwargs: Any) -> tuple[Outcome, ScriptedModel]:
    model = ScriptedModel(replies)
    return run_scripted(strategy, model, problem=REQUEST, **kwargs), model


def test_no_errors_keeps_the_translation(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    outcome, _ = run(Tear(), [GOOD, "No errors."], store=store)
    assert roles(store, outcome.run_id) == ["generator", "critic"]
    assert (outcome.text, outcome.stop_reason) == (GOOD, "no_errors")
    draft = outcome.candidates[0]
    assert (draft.verdict, draft.score, draft.metadata["mqm_errors"]) == (Verdict.OK, 0.0, [])


def test_errors_are_scored_and_handed_to_the_refiner(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    outcome, model = run(Tear(), [BAD, ERRORS, GOOD], store=store)
    assert roles(store, outcome.run_id) == ["generator", "critic", "refiner"]
    assert (outcome.text, outcome.stop_reason) == (GOOD, "refined")
    draft, refined = outcome.candidates
    assert (draft.verdict, draft.score) == (Verdict.REVISE, -6.0)
    assert [(e["severity"], e["category"]) for e in draft.metadata["mqm_errors"]] == [
        ("major", "accuracy"), ("minor", "style")
    ]
    assert (refined.round, refined.kind, refined.parent) == (1, "refine", draft.seq)
    estimate, refine = (m[0]["content"] for m, _ in model.history[1:])
    assert REQUEST.prompt in estimate and BAD in estimate and "Example." not in estimate
    assert ERRORS in refine and BAD in refine
    assert store.get_run(outcome.run_id).candidates[0].score == -6.0


def test_few_shot_adds_one_example_annotation() -> None:
    _, model = run(Tear(variant="few_shot"), [GOOD, "No errors."])
    assert "Example." in model.history[1][0][0]["content"]


def test_no_error_info_refines_without_showing_the_errors() -> None:
    outcome, model = run(Tear(variant="no_error_info"), [BAD, ERRORS, GOOD])
    refine = model.history[2][0][0]["content"]
    assert "Improve this translation" in refine and "mistranslation" not in refine
    assert (outcome.text, outcome.candidates[0].score) == (GOOD, -6.0)


def test_no_error_info_still_keeps_a_translation_without_errors() -> None:
    outcome, model = run(Tear(variant="no_error_info"), [GOOD, "No errors."])
    assert (outcome.stop_reason, len(model.history)) == ("no_errors", 2)


def test_one_call_estimates_and_refines_together(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    reply = f"{ERRORS}\n\nRefined translation: {GOOD}"
    outcome, model = run(Tear(variant="one_call"), [BAD, reply], store=store)
    assert roles(store, outcome.run_id) == ["generator", "refiner"]
    assert (outcome.text, outcome.stop_reason, outcome.candidates[0].score) == (GOOD, "refined", -6.0)
    assert "Refined translation:" in model.history[1][0][0]["content"]


@pytest.mark.parametrize(("reply", "stop", "text"), [
    (f"No errors.\nRefined translation: {GOOD}", "no_errors", BAD),
    (ERRORS, "unparsed_refinement", BAD),                       # errors, but no refined translation
])
def test_one_call_keeps_the_draft_when_there_is_nothing_to_take(reply: str, stop: str, text: str) -> None:
    outcome, _ = run(Tear(variant="one_call"), [BAD, reply])
    assert (outcome.stop_reason, outcome.text, outcome.usage.calls) == (stop, text, 2)


def test_an_unparseable_estimate_is_recorded_and_refined_by_default() -> None:
    outcome, model = run(Tear(), [BAD, "The translation has a problem with the animal.", GOOD])
    draft = outcome.candidates[0]
    assert (draft.verdict, draft.score, draft.metadata["mqm_errors"]) == (Verdict.UNKNOWN, None, None)
    assert "problem with the animal" in model.history[2][0][0]["content"]
    assert outcome.text == GOOD


def test_an_unparseable_estimate_can_keep_the_draft() -> None:
    outcome, model = run(Tear(on_unknown="keep"), [BAD, "Hmm."])
    assert (outcome.stop_reason, outcome.text, len(model.history)) == ("unparsed_estimate", BAD, 2)


def test_parse_mqm_reads_lines_markdown_and_no_errors() -> None:
    errors = parse_mqm('Errors:\n- **Critical/Accuracy**: "x" — meaning lost\n2. minor / fluency: "y" — z')
    assert errors is not None
    assert [(e.severity, e.category, e.description) for e in errors] == [
        ("critical", "accuracy", '"x" — meaning lost'), ("minor", "fluency", '"y" — z')
    ]
    assert parse_mqm("No errors.") == [] and parse_mqm("**No error**") == []
    assert parse_mqm("It reads well overall.") is None
    assert mqm_feedback('critical/accuracy: "x" — y\nmajor/terminology: "t" — u').score == -30.0


def test_budget_cut_before_refining_returns_the_judged_draft() -> None:
    outcome, _ = run(Tear(), [BAD, ERRORS, GOOD], budget=Budget(max_calls=2))
    assert (outcome.stop_reason, outcome.text, outcome.candidates[0].score) == ("budget", BAD, -6.0)


def test_another_feedback_source_can_replace_the_estimate() -> None:
    generator = ScriptedModel([BAD, GOOD])
    critic = ScriptedModel(["The animal is wrong.\nVERDICT: revise"])
    outcome = run_scripted(Tear(feedback=CriticFeedback()), generator, critic=critic, problem=REQUEST)
    assert outcome.text == GOOD and outcome.candidates[0].verdict is Verdict.REVISE
    assert "The animal is wrong." in generator.history[1][0][0]["content"]


def test_variants_with_their_own_estimate_refuse_another_feedback_source() -> None:
    with pytest.raises(StrategyError, match="one_call"):
        Tear(feedback=CriticFeedback(), variant="one_call")
    with pytest.raises(StrategyError, match="few_shot"):
        Tear(feedback=MQMFeedback(), variant="few_shot")

"""Self-Contrast's control flow on a scripted model that answers by prompt, so parallel calls are safe."""

from __future__ import annotations

from redraft.api import build_strategy
from redraft.context import Budget
from redraft.feedback.critic import CriticFeedback
from redraft.models.base import Message
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.self_contrast import FALLBACK_PERSPECTIVES, SelfContrast, parse_numbered
from redraft.tasks.extract import extract_number
from redraft.trace import Verdict
from tests.helpers import roles, run_scripted

LISTING = "Here are three:\n1. Count on fingers.\n2) Use a number line.\n3. **Work backwards.**"
CHECKLIST = "1. Re-check 2 + 2."


def contrast_model(solutions: dict[str, str], revisions: dict[str, str] | None = None,
                   listing: str = LISTING) -> ScriptedModel:
    """Replies by the prompt's kind; solutions by perspective, revisions by the solution revised."""

    def reply(messages: list[Message]) -> str:
        text = messages[0]["content"]
        if text.startswith("Do not solve"):
            return listing
        if text.startswith("Solve the request below from this perspective:"):
            return next(answer for view, answer in solutions.items() if view in text)
        if text.startswith("Two solutions"):
            return "They differ in the final addition."
        if text.startswith("Below are discrepancies"):
            return CHECKLIST
        if text.startswith("Other solutions"):
            return next(new for old, new in (revisions or {}).items() if f"Your solution:\n{old}\n" in text)
        raise AssertionError(f"unexpected prompt: {text[:60]}")

    return ScriptedModel(reply)


SPLIT = {"fingers": "It is 4.", "number line": "It is 5.", "backwards": "So 4."}


def test_contrasts_the_distinct_answers_and_revises_toward_agreement(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = contrast_model(SPLIT, {"It is 4.": "Checked: 4.", "It is 5.": "I slipped; it is 4."})
    outcome = run_scripted(SelfContrast(), model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == [
        "planner", "generator", "generator", "generator", "critic", "critic", "refiner", "refiner"]
    assert (outcome.answer, outcome.stop_reason, outcome.usage.calls) == ("4", "revised", 8)
    kinds = [(c.round, c.kind, c.text) for c in outcome.candidates]
    assert kinds == [(0, "perspective", "It is 4."), (0, "perspective", "It is 5."),
                     (0, "perspective", "So 4."),
                     (1, "revision", "Checked: 4."), (1, "revision", "I slipped; it is 4.")]
    # Only the two mutually different solutions (answers 4 and 5) get the checklist and a revision.
    assert [c.verdict for c in outcome.candidates[:3]] == [Verdict.REVISE, Verdict.REVISE, None]
    assert outcome.candidates[0].feedback == CHECKLIST
    first, second = outcome.candidates[0].seq, outcome.candidates[1].seq
    assert [c.parent for c in outcome.candidates[3:]] == [first, second]
    assert outcome.candidates[0].metadata["perspective"] == "Count on fingers."


def test_prompts_carry_the_perspective_both_solutions_and_the_checklist() -> None:
    model = contrast_model(SPLIT, {"It is 4.": "4", "It is 5.": "4"})
    run_scripted(SelfContrast(), model, extract=extract_number)
    prompts = [m[0]["content"] for m, _ in model.history]
    assert "Propose 3 different perspectives" in prompts[0] and "What is 2 + 2?" in prompts[0]
    assert any(p.endswith("Use a number line.\n\nWhat is 2 + 2?") for p in prompts)
    [contrast] = [p for p in prompts if p.startswith("Two solutions")]
    assert "Solution A:\nIt is 4." in contrast and "Solution B:\nIt is 5." in contrast
    revise = [p for p in prompts if p.startswith("Other solutions")]
    assert len(revise) == 2 and all(f"Checklist:\n{CHECKLIST}" in p for p in revise)


def test_all_perspectives_agreeing_stops_without_contrast(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = contrast_model({"fingers": "It is 4.", "number line": "4", "backwards": "Four: 4"})
    outcome = run_scripted(SelfContrast(), model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["planner", "generator", "generator", "generator"]
    assert (outcome.text, outcome.stop_reason) == ("It is 4.", "consistent")


def test_pairs_are_capped_and_the_vote_tie_goes_to_the_first_revision() -> None:
    model = contrast_model({"fingers": "It is 4.", "number line": "It is 5.", "backwards": "It is 6."},
                           {"It is 4.": "Now 7.", "It is 5.": "Now 8.", "It is 6.": "Now 9."})
    outcome = run_scripted(SelfContrast(max_pairs=2), model, extract=extract_number)
    contrasts = [m for m, _ in model.history if m[0]["content"].startswith("Two solutions")]
    assert len(contrasts) == 2 and len(model.history) == 1 + 3 + 2 + 1 + 3
    assert outcome.text == "Now 7."
    assert outcome.candidates[3].metadata["vote"]["counts"] == {"7": 1.0, "8": 1.0, "9": 1.0}
    # With all three pairs, each solution appears in the discrepancy summary.
    model = contrast_model({"fingers": "It is 4.", "number line": "It is 5.", "backwards": "It is 6."},
                           {"It is 4.": "4", "It is 5.": "4", "It is 6.": "6"})
    outcome = run_scripted(SelfContrast(), model, extract=extract_number)
    [summary] = [m[0]["content"] for m, _ in model.history if m[0]["content"].startswith("Below are")]
    assert "Between solutions 2 and 3:" in summary and outcome.answer == "4"


def test_an_unparseable_perspective_list_falls_back_to_generic_perspectives() -> None:
    solutions = {FALLBACK_PERSPECTIVES[0]: "It is 4.", FALLBACK_PERSPECTIVES[1]: "4"}
    model = contrast_model(solutions, listing="Sure! Let me think about this.")
    outcome = run_scripted(SelfContrast(perspectives=2), model, extract=extract_number)
    assert [c.metadata["source"] for c in outcome.candidates] == ["fallback", "fallback"]
    assert outcome.stop_reason == "consistent"
    assert parse_numbered("1. a\n2) b\n 3: c\nnot an item") == ["a", "b", "c"]


def test_budget_cut_before_the_revisions_votes_over_the_perspective_solutions() -> None:
    model = contrast_model({"fingers": "It is 5.", "number line": "It is 4.", "backwards": "So 4."})
    outcome = run_scripted(SelfContrast(), model, budget=Budget(max_calls=5), extract=extract_number)
    assert outcome.stop_reason == "budget" and outcome.usage.calls == 5
    assert outcome.text == "It is 4."  # majority of the perspective solutions, not the first
    assert all(c.kind == "perspective" for c in outcome.candidates)


def test_a_feedback_source_weights_the_final_vote() -> None:
    model = contrast_model(SPLIT, {"It is 4.": "Still 4.", "It is 5.": "Still 5."})

    def critic(messages: list[Message]) -> str:
        return "Score: 9/10" if "Still 5." in messages[0]["content"] else "Score: 2/10"

    outcome = run_scripted(SelfContrast(feedback=CriticFeedback()), model, critic=ScriptedModel(critic),
                           extract=extract_number)
    assert outcome.answer == "5"
    assert [c.score for c in outcome.candidates[3:]] == [0.2, 0.9]
    assert outcome.candidates[3].verdict is Verdict.UNKNOWN  # no verdict line: recorded as such


def test_composition_each_perspective_is_solved_by_the_inner_strategy(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = contrast_model({"fingers": "It is 4.", "number line": "4", "backwards": "So 4."})
    outcome = run_scripted(build_strategy("direct>self_contrast"), model, store=store, extract=extract_number)
    assert outcome.stop_reason == "consistent"
    stored = store.get_run(outcome.run_id).candidates
    assert [c.stage for c in stored if c.kind == "draft"] == ["direct"] * 3

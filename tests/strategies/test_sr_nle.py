"""SR-NLE: answer, explain post hoc, then k rounds of feedback and a refined explanation."""

from __future__ import annotations

from redraft.context import Budget
from redraft.models.base import Message
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.sr_nle import SRNLE, after_marker, important_words
from redraft.tasks.extract import extract_number
from tests.helpers import roles, run_scripted

ANSWER = "The answer is 4."
RANKING = "1. 2, 90\n2. +, 80\n3. what, 10\n4. 2, 95\n5. is, 5\nsome chatter"


def reply(messages: list[Message]) -> str:
    """Answer, explanation, feedback and refinements, told apart by their prompts."""
    prompt = messages[-1]["content"]
    if prompt.startswith("What is 2 + 2?\n\nGive only your final answer"):
        return ANSWER
    if "provide an explanation for your answer" in prompt:
        return "Explanation: two and two make four."
    if "provide feedback on this explanation" in prompt:
        return f"Feedback: name the addition (seen {prompt.count('refined')} refinements)."
    if "rank them by how important" in prompt:
        return RANKING
    explanation = prompt.split("Your explanation is:\n", 1)[1].split("\n", 1)[0]
    return f"Refined Explanation: {explanation} refined"


def test_nl_feedback_runs_k_rounds_of_critique_and_refinement_and_never_changes_the_answer(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = ScriptedModel(reply)
    outcome = run_scripted(SRNLE(), model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator", "explainer"] + ["critic", "explainer"] * 3
    assert (outcome.stop_reason, outcome.answer, outcome.usage.calls) == ("max_rounds", "4", 8)
    assert [(c.round, c.kind, c.answer) for c in outcome.candidates] == [
        (0, "explanation", "4"),
        (1, "refine", "4"),
        (2, "refine", "4"),
        (3, "refine", "4"),
    ]
    explanations = [c.metadata["explanation"] for c in outcome.candidates]
    assert explanations == ["two and two make four."] + [
        "two and two make four." + " refined" * r for r in (1, 2, 3)
    ]
    assert outcome.text == f"Explanation: {explanations[-1]}\n\n{ANSWER}"  # the answer line last
    # each critique reads the latest explanation
    assert [c.feedback for c in outcome.candidates[:3]] == [
        f"name the addition (seen {r} refinements)." for r in (0, 1, 2)
    ]
    assert outcome.candidates[-1].feedback is None
    refine_prompt = model.history[3][0][-1]["content"]
    assert "Your selected answer is: 4" in refine_prompt and "name the addition" in refine_prompt


def test_iw_feedback_asks_for_the_important_words_once_alongside_the_explanation(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = ScriptedModel(reply)
    outcome = run_scripted(SRNLE(style="iw", top_words=2), model, store=store, extract=extract_number)
    called = roles(store, outcome.run_id)
    assert called[0] == "generator" and sorted(called[1:3]) == ["critic", "explainer"]  # concurrent
    assert called[3:] == ["explainer"] * 3 and outcome.usage.calls == 6
    assert outcome.candidates[0].metadata["words"] == ["2", "+"]  # best score of a repeated word, sorted
    refine_prompts = [
        m[-1]["content"] for m, _ in model.history if "important words you received" in m[-1]["content"]
    ]
    assert len(refine_prompts) == 3 and all(
        "The important words you received are:\n2, +" in p for p in refine_prompts
    )


def test_an_unreadable_word_ranking_stops_before_any_refinement() -> None:
    model = ScriptedModel(lambda m: "no list here" if "rank them" in m[-1]["content"] else reply(m))
    outcome = run_scripted(SRNLE(style="iw"), model, extract=extract_number)
    assert (outcome.stop_reason, len(model.history), len(outcome.candidates)) == ("unparsed_feedback", 3, 1)
    assert outcome.candidates[0].metadata["words"] == []


def test_zero_rounds_is_answer_and_explanation() -> None:
    model = ScriptedModel(reply)
    outcome = run_scripted(SRNLE(rounds=0, style="iw"), model, extract=extract_number)
    assert (len(model.history), outcome.stop_reason, outcome.answer) == (2, "max_rounds", "4")


def test_a_budget_cut_keeps_the_latest_explanation() -> None:
    outcome = run_scripted(SRNLE(), ScriptedModel(reply), budget=Budget(max_calls=4), extract=extract_number)
    assert (outcome.stop_reason, outcome.answer) == ("budget", "4")
    assert outcome.candidates[-1].metadata["explanation"] == "two and two make four. refined"


def test_markers_and_rankings_are_parsed_as_the_authors_code_does() -> None:
    assert after_marker("Sure.\nExplanation: because.", "Explanation") == ("because.", True)
    assert after_marker("just prose", "Explanation") == ("just prose", False)
    assert after_marker("Refined Explanation: better", "Refined Explanation") == ("better", True)
    assert important_words("1. Cat, 40\n2. dog, 70 (an animal)\n3 bad line\n4. cat, 90", 5) == ["cat", "dog"]

"""ART: the asker decides whether to refine, the truster decides whether to keep the refinement."""

from __future__ import annotations

import asyncio

from redraft.context import Budget
from redraft.feedback.critic import CriticFeedback
from redraft.models.scripted import ScriptedModel
from redraft.runs.runner import run_strategy
from redraft.runs.store import RunStore
from redraft.strategies.art import Art
from redraft.tasks.extract import extract_number
from redraft.trace import Verdict
from tests.helpers import PROBLEM, managed, roles, run_scripted

WRONG, RIGHT, ALSO_WRONG = "2 + 2 = 5. The answer is 5.", "2 + 2 = 4. The answer is 4.", "The answer is 3."
ANSWERED = "1. What is 2 + 2? answered\nALL ANSWERED: yes"
NOT_ANSWERED = "1. What is 2 + 2? not answered\n2. Is the sum checked? not answered\nALL ANSWERED: **no**"


def test_all_subquestions_answered_keeps_the_draft(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    outcome = run_scripted(Art(), ScriptedModel([RIGHT, ANSWERED]), store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator", "asker"]
    assert (outcome.text, outcome.stop_reason) == (RIGHT, "all_answered")
    assert (outcome.candidates[0].verdict, outcome.candidates[0].feedback) == (Verdict.OK, ANSWERED)


def test_refinement_trusted_by_the_truster_wins(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = ScriptedModel([WRONG, NOT_ANSWERED, RIGHT, "Solution 2 checks out.\nBEST: 2", "BEST: 1"])
    outcome = run_scripted(Art(), model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator", "asker", "refiner", "truster", "truster"]
    assert (outcome.text, outcome.stop_reason) == (RIGHT, "ranked")
    draft, refined = outcome.candidates
    assert draft.verdict is Verdict.REVISE
    assert (refined.round, refined.kind, refined.verdict) == (1, "refine", Verdict.OK)
    assert refined.metadata["trust"] == {"best": "2", "best_swapped": "1", "chosen": "refinement",
                                         "reason": "ranked"}
    refine_prompt = model.history[2][0][0]["content"]
    assert "Is the sum checked?" in refine_prompt and WRONG in refine_prompt
    trust_prompt = model.history[3][0][0]["content"]
    assert trust_prompt.index(WRONG) < trust_prompt.index(RIGHT)  # draft is solution 1
    swapped_prompt = model.history[4][0][0]["content"]
    assert swapped_prompt.index(RIGHT) < swapped_prompt.index(WRONG)  # then the refinement is
    assert store.get_run(outcome.run_id).candidates[1].metadata["trust"]["chosen"] == "refinement"


def test_distrusted_refinement_returns_the_draft() -> None:
    model = ScriptedModel([RIGHT, NOT_ANSWERED, WRONG, "BEST: Solution 1", "BEST: 2"])
    outcome = run_scripted(Art(), model, extract=extract_number)
    assert (outcome.text, outcome.stop_reason) == (RIGHT, "ranked")
    assert outcome.candidates[1].verdict is Verdict.REVISE
    assert outcome.candidates[1].metadata["trust"]["chosen"] == "draft"


def test_unreadable_truster_keeps_the_draft_and_says_so() -> None:
    model = ScriptedModel([WRONG, NOT_ANSWERED, RIGHT, "Both look plausible.", "BEST: 1"])
    outcome = run_scripted(Art(), model, extract=extract_number)
    assert (outcome.text, outcome.stop_reason) == (WRONG, "unparsed_trust")
    assert outcome.candidates[1].verdict is Verdict.UNKNOWN


def test_same_answer_needs_no_ranking() -> None:
    model = ScriptedModel([RIGHT, NOT_ANSWERED, "Step by step: 2 + 2 = 4. The answer is 4."])
    outcome = run_scripted(Art(), model, extract=extract_number)
    assert (outcome.stop_reason, len(model.history)) == ("same_answer", 3)
    assert outcome.text.startswith("Step by step") and outcome.answer == "4"


def test_unreadable_asker_is_recorded_and_leads_to_refinement() -> None:
    model = ScriptedModel([WRONG, "Some subquestions, no decision.", ALSO_WRONG, "BEST: 2", "BEST: 1"])
    outcome = run_scripted(Art(), model, extract=extract_number)
    assert outcome.candidates[0].verdict is Verdict.UNKNOWN
    assert (outcome.answer, len(model.history)) == ("3", 5)


def test_asker_and_truster_can_be_smaller_models() -> None:
    generator = ScriptedModel([WRONG, RIGHT], name="big")
    small = ScriptedModel([NOT_ANSWERED, "BEST: 2", "BEST: 1"], name="small")
    models = {"generator": managed(generator), "asker": managed(small), "truster": managed(small)}
    outcome = asyncio.run(run_strategy(Art(), PROBLEM, models, extract=extract_number))
    assert outcome.text == RIGHT and len(generator.history) == 2 and len(small.history) == 3
    assert set(outcome.usage_by_role) == {"generator", "asker", "refiner", "truster"}


def test_another_feedback_source_can_play_the_asker() -> None:
    generator = ScriptedModel([WRONG, RIGHT])
    critic = ScriptedModel(["The sum is wrong.\nVERDICT: revise", "BEST: 2", "BEST: 1"])  # truster too
    outcome = run_scripted(Art(feedback=CriticFeedback()), generator, critic=critic, extract=extract_number)
    assert outcome.text == RIGHT
    assert "The sum is wrong." in generator.history[1][0][0]["content"]
    assert "Solution 2:" in critic.history[1][0][0]["content"]


def test_budget_cut_before_the_truster_returns_the_draft() -> None:
    model = ScriptedModel([WRONG, NOT_ANSWERED, RIGHT, "BEST: 2"])
    outcome = run_scripted(Art(), model, budget=Budget(max_calls=3), extract=extract_number)
    assert (outcome.stop_reason, outcome.text, len(model.history)) == ("budget", WRONG, 3)
    assert len(outcome.candidates) == 2


def test_refinement_preferred_in_one_order_only_keeps_the_draft() -> None:
    """Position bias: a truster that always answers "BEST: 2" prefers whatever comes second."""
    model = ScriptedModel([WRONG, NOT_ANSWERED, RIGHT, "BEST: 2", "BEST: 2"])
    outcome = run_scripted(Art(), model, extract=extract_number)
    assert (outcome.text, outcome.stop_reason) == (WRONG, "ranked")
    trust = outcome.candidates[1].metadata["trust"]
    assert (trust["best"], trust["best_swapped"], trust["chosen"]) == ("2", "2", "draft")
    assert len(model.history) == 5

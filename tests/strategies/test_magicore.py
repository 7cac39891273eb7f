"""MAgICoRe's control flow on a scripted model that answers by prompt: scores, easy/hard, rounds, vote."""

from __future__ import annotations

from collections import Counter

import pytest

from redraft.context import Budget
from redraft.feedback.critic import CriticFeedback
from redraft.feedback.reward import combine, parse_reward, show_steps, split_steps
from redraft.models.base import Message
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.magicore import MAgICoRe, difficulty, top_k
from redraft.tasks.extract import extract_number
from redraft.trace import Candidate, Verdict
from tests.helpers import roles, run_scripted

HIGH = "Step 1: 9/10\nOverall: 9/10"  # reward (0.9 + 0.9) / 2 = 0.9
LOW = "Step 1: 2/10\nOverall: 3/10"  # reward (0.3 + 0.2) / 2 = 0.25
REVIEW = "Step 1 adds wrongly; 2 + 2 is 4."


def model(samples: list[str], rewards: dict[str, str], refinements: dict[str, str] | None = None,
          ) -> ScriptedModel:
    """Samples in order; rewards and refinements looked up by the exact solution they are about."""
    queue = list(samples)

    def solution_in(text: str, marker: str) -> str:
        return text.split(marker, 1)[1].split("\n\nReviewer feedback:", 1)[0]

    def reply(messages: list[Message]) -> str:
        text = messages[0]["content"]
        if text.startswith("Grade the solution"):
            shown = solution_in(text, "Solution:\n")
            return next(r for s, r in rewards.items() if show_steps(split_steps(s)) == shown)
        if text.startswith("Give step-by-step feedback"):
            return REVIEW
        if text.startswith("Fix the errors"):
            shown = solution_in(text, "Current solution:\n")
            return next(new for old, new in (refinements or {}).items() if shown.startswith(f"Step 1: {old}"))
        return queue.pop(0)

    return ScriptedModel(reply)


def test_an_easy_problem_is_settled_by_the_weighted_vote(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    samples = ["The answer is 4.", "So 4.", "It is 4.", "It is 5."]
    scripted = model(samples, {s: HIGH for s in samples})
    outcome = run_scripted(MAgICoRe(k=4), scripted, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator"] + ["reward"] * 4
    assert (outcome.answer, outcome.stop_reason, outcome.usage.calls) == ("4", "easy", 8)
    assert [c.score for c in outcome.candidates] == [0.9] * 4
    assert outcome.candidates[0].metadata["step_scores"] == [0.9]
    [state] = outcome.candidates[0].metadata["difficulty"]
    assert state["hard"] is False and state["winner"] == "4"


def test_a_hard_problem_is_reviewed_refined_rescored_and_stops_once_confident(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    samples = ["It is 1.", "It is 2.", "It is 3.", "It is 5."]
    rewards = {s: LOW for s in samples} | {"Fixed: 4.": HIGH}
    scripted = model(samples, rewards, {s: "Fixed: 4." for s in samples})
    outcome = run_scripted(MAgICoRe(k=4), scripted, store=store, extract=extract_number)
    calls = roles(store, outcome.run_id)
    assert calls[:5] == ["generator"] + ["reward"] * 4
    assert Counter(calls[5:]) == {"reviewer": 4, "refiner": 4, "reward": 4}
    assert (outcome.answer, outcome.stop_reason, outcome.usage.calls) == ("4", "confident", 20)
    refined = [c for c in outcome.candidates if c.kind == "refine"]
    assert len(refined) == 4 and all(c.round == 1 and c.score == 0.9 for c in refined)
    assert {c.parent for c in refined} == {c.seq for c in outcome.candidates[:4]}
    assert outcome.candidates[0].feedback == REVIEW and outcome.candidates[0].verdict is Verdict.REVISE
    final = next(c for c in outcome.candidates if "difficulty" in c.metadata)
    assert final.kind == "refine" and final.text == "Fixed: 4."
    first, second = final.metadata["difficulty"]
    assert first["hard"] is True and first["agreement"] == pytest.approx(0.4, abs=1e-3)  # 4 answers
    assert second["hard"] is False and second["confidence"] == pytest.approx(0.9)


def test_reviewer_sees_step_scores_and_the_low_steps_and_the_refiner_sees_the_review() -> None:
    samples = ["First 1 + 1 = 3.\n\nSo the answer is 5.", "It is 6."]
    rewards = {samples[0]: "Step 1: 1/10\nStep 2: 7/10\nOverall: 2/10", samples[1]: "Overall: 1/10",
               "Fixed: 4.": HIGH}
    scripted = model(samples, rewards, {"First": "Fixed: 4.", "It is 6.": "Fixed: 4."})
    run_scripted(MAgICoRe(k=2, min_agreement=0.9, refine_top=1), scripted, extract=extract_number)
    prompts = [m[0]["content"] for m, _ in scripted.history]
    [review] = [p for p in prompts if p.startswith("Give step-by-step feedback")]
    assert "below 6 (step 1)" in review
    assert "Step 1: First 1 + 1 = 3. (Score: 1/10)\n\nStep 2: So the answer is 5. (Score: 7/10)" in review
    [refine] = [p for p in prompts if p.startswith("Fix the errors")]
    assert refine.endswith(f"Reviewer feedback:\n{REVIEW}")


def test_stops_after_max_rounds_when_the_vote_stays_split() -> None:
    samples = ["It is 1.", "It is 2."]
    rewards = {s: LOW for s in samples} | {"Again 1.": LOW}
    scripted = model(samples, rewards, {"It is 1.": "Again 1.", "Again 1.": "Again 1."})
    outcome = run_scripted(MAgICoRe(k=2, min_agreement=0.9, refine_top=1), scripted, extract=extract_number)
    assert outcome.stop_reason == "max_rounds"
    assert len(scripted.history) == 2 + 2 + 3 * 3  # samples, scores, 3 rounds of review, refine, score
    assert [c.round for c in outcome.candidates if c.kind == "refine"] == [1, 2, 3]
    assert outcome.answer == "1"  # 2 of the pooled top 2 say 1, at equal reward


def test_unparseable_scores_are_recorded_as_none_and_do_not_weigh() -> None:
    samples = ["It is 5.", "So 5.", "It is 4."]
    rewards = {"It is 5.": "Looks fine to me!", "So 5.": "Step 1: great\nOverall: 11/10",
               "It is 4.": "Step 1: 3/10"}
    outcome = run_scripted(MAgICoRe(k=3, max_rounds=0), model(samples, rewards), extract=extract_number)
    unread = outcome.candidates[0]
    assert (unread.score, unread.verdict, unread.metadata["outcome_score"]) == (None, Verdict.UNKNOWN, None)
    assert unread.metadata["step_scores"] == [None]
    assert outcome.candidates[1].score is None  # "great" and 11/10 are not scores
    assert outcome.candidates[2].score == pytest.approx(0.3)  # the step product alone
    assert outcome.answer == "4"  # the only scored solution; an unweighted majority would say 5
    assert outcome.candidates[2].metadata["vote"]["counts"] == {"4": pytest.approx(0.3)}


def test_reward_parsing_and_combination() -> None:
    text = "Step 1: correct, 8/10\n**Step 2:** 7\nStep 3: 11/10\nStep 9: 1/10\nOverall score: 6 / 10"
    steps, overall = parse_reward(text, 4)
    assert steps == [0.8, 0.7, None, None] and overall == 0.6
    assert combine(steps, overall) == pytest.approx((0.6 + 0.8 * 0.7) / 2)
    assert combine([None], 0.5) == 0.5 and combine([0.5, 0.5], None) == 0.25 and combine([None], None) is None
    assert split_steps("a\nb") == ["a", "b"] and split_steps("a\nb\n\nc") == ["a\nb", "c"]
    assert len(split_steps("\n".join(str(i) for i in range(45)))) == 15  # merged to at most 20 steps


def candidate(seq: int, answer: str | None, score: float | None) -> Candidate:
    return Candidate(seq=seq, round=0, kind="sample", text=str(answer), answer=answer, score=score)


def test_difficulty_needs_both_low_agreement_and_low_confidence() -> None:
    split = [candidate(i, str(i), 0.2) for i in range(4)]  # entropy ln 4: agreement 2(1 - 0.8) = 0.4
    state = difficulty(split, 0.5, 0.5)
    assert state["hard"] is True and state["agreement"] == pytest.approx(0.4) and state["confidence"] == 0.2
    assert difficulty([candidate(i, str(i), 0.8) for i in range(4)], 0.5, 0.5)["hard"] is False
    pair = [candidate(0, "4", 0.2), candidate(1, "5", 0.2)]  # entropy ln 2: agreement 2/3
    assert difficulty(pair, 0.5, 0.5)["hard"] is False and difficulty(pair, 0.7, 0.5)["hard"] is True
    assert [c.seq for c in top_k([candidate(0, "a", None), candidate(1, "b", 0.1), candidate(2, "c", 0.1)], 2)
            ] == [1, 2]


def test_budget_cut_during_refinement_votes_over_what_was_scored() -> None:
    samples = ["It is 1.", "It is 2.", "It is 3.", "It is 4."]
    rewards = {"It is 1.": LOW, "It is 2.": LOW, "It is 3.": LOW, "It is 4.": "Step 1: 4/10\nOverall: 4/10"}
    scripted = model(samples, rewards, {s: "Fixed: 4." for s in samples})
    outcome = run_scripted(MAgICoRe(k=4), scripted, budget=Budget(max_calls=10), extract=extract_number)
    assert outcome.stop_reason == "budget" and outcome.usage.calls == 10
    assert outcome.text == "It is 4."  # the highest reward among the scored solutions


def test_any_feedback_source_can_be_the_scorer() -> None:
    samples = ["It is 4.", "It is 5."]

    def critic(messages: list[Message]) -> str:
        return "Score: 9/10" if "It is 5." in messages[0]["content"] else "Score: 4/10"

    outcome = run_scripted(MAgICoRe(k=2, feedback=CriticFeedback()), model(samples, {}),
                           critic=ScriptedModel(critic), extract=extract_number)
    assert [c.score for c in outcome.candidates] == [0.4, 0.9]
    assert outcome.candidates[0].metadata["step_scores"] == [None]
    assert (outcome.answer, outcome.stop_reason) == ("5", "easy")


def test_each_round_refines_the_latest_of_each_lineage_not_the_best_parent_again() -> None:
    # "Again 1." scores below its parent, so the pool's best is still "It is 1."; round 2 must
    # refine "Again 1." (the lineage's latest), not "It is 1." again (a duplicate child and vote).
    samples = ["It is 1.", "It is 2."]
    worse = "Step 1: 1/10\nOverall: 1/10"
    rewards = {s: LOW for s in samples} | {"Again 1.": worse, "Third 1.": worse}
    refinements = {"It is 1.": "Again 1.", "Again 1.": "Third 1."}
    scripted = model(samples, rewards, refinements)
    outcome = run_scripted(MAgICoRe(k=2, min_agreement=0.9, refine_top=1, max_rounds=2), scripted,
                           extract=extract_number)
    first, second = [c for c in outcome.candidates if c.kind == "refine"]
    assert (first.text, second.text) == ("Again 1.", "Third 1.")
    assert second.parent == first.seq and first.parent == outcome.candidates[0].seq

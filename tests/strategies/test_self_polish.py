"""Self-Polish: rewrite the problem, answer each version, stop when two answers in a row agree."""

from __future__ import annotations

import pytest

from redraft.api import build_strategy
from redraft.context import Budget
from redraft.models.base import Message
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.self_polish import SelfPolish, parse_rewrite
from redraft.tasks.extract import extract_number
from tests.helpers import roles, run_scripted

ORIGINAL = "What is 2 + 2?"


def polish_model(answers: list[str], marker: bool = True) -> ScriptedModel:
    """Rewrites q_t into "Q{t+1}"; answers the original with answers[0] and "Qt" with answers[t]."""
    problems = [ORIGINAL] + [f"Q{t}" for t in range(1, len(answers))]

    def reply(messages: list[Message]) -> str:
        content = messages[-1]["content"]
        if content.startswith("Rewrite the problem"):
            current = content.rsplit("Original problem:\n", 1)[1]
            new = f"Q{problems.index(current) + 1}"
            return f"Sure.\nNew problem: {new}" if marker else new
        return f"The answer is {answers[problems.index(content)]}."

    return ScriptedModel(reply)


def test_stops_when_two_consecutive_answers_agree(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = polish_model(["5", "4", "4", "7"])
    outcome = run_scripted(SelfPolish(), model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator", "rewriter", "generator", "rewriter", "generator"]
    assert (outcome.stop_reason, outcome.answer) == ("converged", "4")
    assert [(c.round, c.kind, c.answer) for c in outcome.candidates] == [
        (0, "draft", "5"), (1, "polished", "4"), (2, "polished", "4")
    ]
    assert [c.metadata["problem"] for c in outcome.candidates] == [ORIGINAL, "Q1", "Q2"]
    assert outcome.candidates[2].metadata["rewrite_marker"] is True
    stored = store.get_run(outcome.run_id).candidates
    assert stored[-1].metadata["problem"] == "Q2"


def test_rewrites_are_progressive_and_answered_as_fresh_problems() -> None:
    model = polish_model(["5", "4", "4"])
    run_scripted(SelfPolish(), model, extract=extract_number)
    rewrite_inputs = [m[-1]["content"].rsplit("\n", 1)[1] for m, _ in model.history
                      if m[-1]["content"].startswith("Rewrite")]
    assert rewrite_inputs == [ORIGINAL, "Q1"]
    answered = [m for m, _ in model.history if not m[-1]["content"].startswith("Rewrite")]
    assert [m for m in answered] == [[{"role": "user", "content": p}] for p in (ORIGINAL, "Q1", "Q2")]


def test_the_original_answer_counts_for_convergence() -> None:
    model = polish_model(["4", "4"])
    outcome = run_scripted(SelfPolish(), model, extract=extract_number)
    assert (outcome.stop_reason, outcome.answer, len(model.history)) == ("converged", "4", 3)
    assert outcome.candidates[-1].round == 1


@pytest.mark.parametrize(("final", "answers", "expected_round"), [
    ("last", ["3", "4", "6", "4"], 3),
    ("first", ["3", "4", "6", "4"], 1),
    ("original", ["3", "4", "6", "4"], 0),
    ("vote", ["3", "4", "6", "4"], 1),     # "4" twice: its first candidate
    ("vote", ["3", "4", "6", "7"], 0),     # no answer repeats: the original
])
def test_final_rule_when_the_answers_never_converge(
    final: str, answers: list[str], expected_round: int
) -> None:
    model = polish_model(answers)
    outcome = run_scripted(SelfPolish(final=final), model, extract=extract_number)
    assert outcome.stop_reason == "max_rounds"
    assert len(model.history) == 7  # a0, then 3 x (rewrite, answer)
    assert outcome.answer == answers[expected_round]
    assert outcome.text == f"The answer is {answers[expected_round]}."


def test_a_missing_answer_never_converges() -> None:
    model = ScriptedModel(lambda m: "New problem: same" if m[-1]["content"].startswith("Rewrite") else "?")
    outcome = run_scripted(SelfPolish(max_rounds=2), model, extract=extract_number)
    assert (outcome.stop_reason, len(model.history)) == ("max_rounds", 5)


def test_a_rewrite_without_its_marker_is_used_whole_and_flagged() -> None:
    model = polish_model(["5", "4", "4"], marker=False)
    outcome = run_scripted(SelfPolish(), model, extract=extract_number)
    assert outcome.candidates[1].metadata == {"problem": "Q1", "rewrite_marker": False}
    assert parse_rewrite("Here you go.\nNew problem: A clearer one.") == ("A clearer one.", True)
    assert parse_rewrite("  Just the problem. ") == ("Just the problem.", False)


def test_an_empty_rewrite_stops_the_loop() -> None:
    model = ScriptedModel(lambda m: "New problem:" if m[-1]["content"].startswith("Rewrite") else "4")
    outcome = run_scripted(SelfPolish(), model, extract=extract_number)
    assert (outcome.stop_reason, outcome.answer, len(model.history)) == ("empty_rewrite", "4", 2)


def test_budget_cut_keeps_the_answers_so_far_and_applies_the_final_rule() -> None:
    outcome = run_scripted(SelfPolish(), polish_model(["5", "4"]), budget=Budget(max_calls=1),
                           extract=extract_number)
    assert (outcome.stop_reason, outcome.answer, outcome.usage.calls) == ("budget", "5", 1)
    outcome = run_scripted(SelfPolish(final="original"), polish_model(["5", "4", "6"]),
                           budget=Budget(max_calls=4), extract=extract_number)
    assert (outcome.stop_reason, outcome.answer) == ("budget", "5")
    assert [c.round for c in outcome.candidates] == [0, 1]


def test_zero_rounds_is_the_plain_answer() -> None:
    model = polish_model(["4"])
    outcome = run_scripted(SelfPolish(max_rounds=0), model, extract=extract_number)
    assert (outcome.answer, len(model.history), outcome.stop_reason) == ("4", 1, "max_rounds")


def test_a_composed_drafter_solves_each_polished_problem(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    strategy = build_strategy("direct>self_polish")
    outcome = run_scripted(strategy, polish_model(["5", "4", "4"]), store=store, extract=extract_number)
    assert (outcome.strategy, outcome.answer, outcome.stop_reason) == ("direct>self_polish", "4", "converged")
    stored = store.get_run(outcome.run_id).candidates
    assert sum(c.stage == "direct" for c in stored) == 3


def test_self_polish_as_a_drafter_hands_over_its_final_answer() -> None:
    strategy = build_strategy("self_polish>direct")
    outcome = run_scripted(strategy, polish_model(["5", "4", "4"]), extract=extract_number)
    assert (outcome.answer, outcome.usage.calls) == ("4", 5)

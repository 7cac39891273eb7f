"""The pairwise tournament: Enhanced Borda Count by hand, and its calls on scripted models."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from redraft.api import build_strategy
from redraft.context import Budget
from redraft.models.base import Message
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.base import StrategyError
from redraft.strategies.tournament import Tournament, preferences, rank, read_vote, transitive_closure
from redraft.tasks.extract import extract_number
from tests.helpers import roles, run_scripted

A, B, C, D, E = range(5)


def both_orders(winner: int, loser: int) -> list[tuple[int, int, bool | None]]:
    return [(winner, loser, True), (loser, winner, False)]


def split(i: int, j: int) -> list[tuple[int, int, bool | None]]:
    return [(i, j, True), (j, i, True)]  # each order prefers the solution shown first


def test_the_closure_makes_a_win_through_a_chain_count() -> None:
    # A > B and B > C in both orders; A vs C splits (position bias), so no direct edge.
    ranking = rank(3, both_orders(A, B) + both_orders(B, C) + split(A, C))
    assert ranking.beats == [[B, C], [C], []]  # A beats C through B
    assert ranking.borda == [2, 1, 0]  # without the closure A and B would tie at 1
    assert ranking.soft == [1.5, 1.0, 0.5]
    assert ranking.order == [A, B, C]


def test_a_cycle_ties_the_borda_count_and_the_soft_preference_breaks_it() -> None:
    # A > B > C > A (all in both orders); A and B beat D, D beats E; the rest split.
    votes = (
        both_orders(A, B)
        + both_orders(B, C)
        + both_orders(C, A)
        + both_orders(A, D)
        + both_orders(A, E)
        + both_orders(B, D)
        + split(B, E)
        + split(C, D)
        + split(C, E)
        + both_orders(D, E)
    )
    ranking = rank(5, votes)
    assert ranking.borda == [4, 4, 4, 1, 0]  # every member of the cycle beats every other and D, E
    assert ranking.soft == [3.0, 2.5, 2.0, 1.5, 1.0]
    assert ranking.order == [A, B, C, D, E]
    direct = [[j for j in range(5) if preferences(5, votes)[i][j] > 0.5] for i in range(5)]
    assert [len(won) for won in direct] == [3, 2, 1, 1, 0]  # C's 4 is the closure's


def test_unreadable_votes_are_no_votes_and_a_full_tie_goes_to_the_earlier() -> None:
    ranking = rank(3, [(A, B, None), (B, A, True), (B, C, None), (C, B, None)])
    assert preferences(3, [(B, A, True)])[B][A] == 1.0  # one readable vote decides its pair
    assert (ranking.borda, ranking.unreadable_votes) == ([0, 1, 0], 3)  # B > A; pairs with C: 1/2
    assert ranking.soft == [0.5, 1.5, 1.0]
    assert ranking.order == [B, C, A]
    assert rank(2, []).order == [A, B]


def test_closure_and_vote_reading() -> None:
    assert (
        transitive_closure([[False, True, False], [False, False, True], [True, False, False]])
        == [[True] * 3] * 3
    )
    assert read_vote("Solution 2 is clearer.\nBEST: 1") is True
    assert read_vote("**Best: solution 2**") is False
    assert read_vote("Both are fine.") is None


SAMPLES = ["The answer is 5.", "The answer is 4.", "It is 6."]


def judge(prefer: Callable[[str, str], str]) -> Callable[[list[Message]], str]:
    """A model that samples SAMPLES in order and compares two solutions with `prefer(first, second)`."""
    drafts = iter(SAMPLES)

    def reply(messages: list[Message]) -> str:
        text = messages[-1]["content"]
        if text == "What is 2 + 2?":
            return next(drafts)
        first, second = re.findall(r"Solution [12]:\n(.*)", text)
        return f"Comparing them.\nBEST: {prefer(first, second)}"

    return reply


def by_answer(order: list[str]) -> Callable[[str, str], str]:
    return lambda first, second: "1" if order.index(first) < order.index(second) else "2"


def test_every_pair_is_compared_in_both_orders_and_the_borda_winner_is_final(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = ScriptedModel(judge(by_answer(["The answer is 4.", "It is 6.", "The answer is 5."])))
    outcome = run_scripted(Tournament(n=3), model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator"] + ["reward"] * 6  # the samples are one request
    assert outcome.usage.calls == 3 + 3 * 2
    shown = {tuple(re.findall(r"Solution [12]:\n(.*)", m[-1]["content"])) for m, _ in model.history[3:]}
    assert shown == {(a, b) for a in SAMPLES for b in SAMPLES if a != b}
    assert (outcome.answer, outcome.stop_reason) == ("4", "ranked")
    meta = [c.metadata["tournament"] for c in outcome.candidates]
    assert [(m["rank"], m["borda"], m["soft"]) for m in meta] == [(3, 0, 0.0), (1, 2, 2.0), (2, 1, 1.0)]
    five, _, six = outcome.candidates
    assert meta[1]["beats"] == [five.seq, six.seq]
    assert [c.score for c in outcome.candidates] == [0.0, 2.0, 1.0]
    stored = store.get_run(outcome.run_id).candidates
    assert [c.metadata["tournament"]["rank"] for c in stored] == [3, 1, 2]


def test_a_judge_that_always_prefers_the_first_shown_decides_nothing() -> None:
    outcome = run_scripted(
        Tournament(n=3), ScriptedModel(judge(lambda first, second: "1")), extract=extract_number
    )
    assert [c.metadata["tournament"]["borda"] for c in outcome.candidates] == [0, 0, 0]
    assert outcome.text == SAMPLES[0]  # every pair split: the earlier candidate


def test_a_budget_cut_ranks_on_the_comparisons_it_paid_for() -> None:
    model = ScriptedModel(judge(by_answer(["The answer is 4.", "It is 6.", "The answer is 5."])))
    outcome = run_scripted(Tournament(n=3), model, budget=Budget(max_calls=5), extract=extract_number)
    assert (outcome.stop_reason, outcome.usage.calls) == ("budget", 5)
    # Only the first pair (5 vs 4, both orders) was compared: 4 beats 5; 6 met nobody (1/2 each).
    assert [c.metadata["tournament"]["soft"] for c in outcome.candidates] == [0.5, 1.5, 1.0]
    assert outcome.answer == "4" and outcome.candidates[0].metadata["tournament"]["cut_votes"] == 4
    outcome = run_scripted(
        Tournament(n=3),
        ScriptedModel(judge(by_answer(SAMPLES))),
        budget=Budget(max_calls=3),
        extract=extract_number,
    )
    assert (outcome.stop_reason, outcome.text) == ("budget", SAMPLES[0])  # no comparison: majority
    assert all("tournament" not in c.metadata for c in outcome.candidates)


def test_best_of_n_can_select_by_tournament(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    strategy = build_strategy("best_of_n[n=3,select=tournament]")
    model = ScriptedModel(judge(by_answer(["It is 6.", "The answer is 4.", "The answer is 5."])))
    outcome = run_scripted(strategy, model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator"] + ["reward"] * 6  # no scorer call
    assert (outcome.answer, outcome.stop_reason) == ("6", "ranked")
    assert strategy.all_roles() == ("generator", "reward") and not strategy.oracle


def test_tournament_parameters_are_checked() -> None:
    with pytest.raises(StrategyError, match="less than or equal to 8"):
        build_strategy("tournament[n=9]")
    with pytest.raises(StrategyError, match="at most 8 samples"):
        build_strategy("best_of_n[n=9,select=tournament]")
    with pytest.raises(StrategyError, match="threshold is a score"):
        build_strategy("best_of_n[select=tournament,threshold=0.5]")
    with pytest.raises(StrategyError, match="no feedback source"):
        build_strategy("tournament@critic")

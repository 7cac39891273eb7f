"""MCTSr: the tree arithmetic by hand (UCT, Q, backprop) and the call sequence on a scripted model."""

from __future__ import annotations

import math

import pytest

from redraft.context import Budget
from redraft.models.base import Message
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies import mctsr
from redraft.strategies.mctsr import (
    DUMMY,
    NO_REWARD_Q,
    MCTSr,
    Node,
    backpropagate,
    expandable,
    importance_weights,
    parse_reward,
    q_value,
    sample_node,
    select_node,
    uct,
)
from redraft.tasks.extract import extract_number
from redraft.trace import Verdict
from tests.helpers import roles, run_scripted

CRITIQUE = "The sum is off by one.\nVERDICT: revise"


def mctsr_model(draft: str, grades: dict[str, list[str]], refinements: dict[str, str],
                preferred: str | None = None) -> ScriptedModel:
    """Grades per answer (in order, one per reward call), refinements per refined answer; a pairwise
    comparison prefers `preferred` (the final tournament)."""
    queues = {answer: list(replies) for answer, replies in grades.items()}

    def reply(messages: list[Message]) -> str:
        text = messages[0]["content"]
        if "Two solutions to the same problem follow" in text:
            first = text.split("Solution 1:\n", 1)[1].split("\n\nSolution 2:", 1)[0]
            return "BEST: 1" if first == preferred else "BEST: 2"
        if "Output a score between -100 and +100" in text:
            return queues[text.split("\nAnswer: ", 1)[1].split("\nAnalyze this answer", 1)[0]].pop(0)
        if "We have a weak answer" in text:
            return CRITIQUE
        if "Refine your answer according to the reflection" in text:
            return refinements[text.split("Your previous answer:\n", 1)[1].split("\n\nReflection", 1)[0]]
        assert text == "What is 2 + 2?"
        return draft

    return ScriptedModel(reply)


# Two rollouts, computed by hand:
#   init:      Q(a0) = 40, Q(dummy) = -80
#   rollout 1: UCT(a0) = 40 (a root: ln(0 + 1) = 0) beats UCT(dummy) = -80 -> expand a0.
#              a0 gets a second grade, R = [40, 20]: own Q = (20 + 30) / 2 = 25; child a1: R = [90], Q = 90;
#              backprop Q(a0) = (25 + 90) / 2 = 57.5
#   rollout 2: UCT(a1) = 90 + 1.4·sqrt(ln(2 + 1) / (1 + 1e-5)) = 91.467 beats UCT(a0) = 57.5 -> expand a1.
#              a1's second grade 100 is suppressed to 50: R = [90, 50], own Q = (50 + 70) / 2 = 60;
#              child a2: R = [30], Q = 30; backprop Q(a1) = (60 + 30) / 2 = 45, Q(a0) = (25 + 45) / 2 = 35
#   final:     the highest Q that is not the dummy: a1 (45) over a0 (35) and a2 (30)
GRADES = {
    "The answer is 5.": ["[Analysis] Off by one.\n[Score] 40", "[Score] 20"],
    DUMMY: ["[Analysis] No answer at all.\n[Score] -80"],
    "The answer is 4.": ["[Score] 90", "[Analysis] Perfect.\n[Score] 100"],
    "It is 4, I think.": ["[Score] 30"],
}
REFINEMENTS = {"The answer is 5.": "The answer is 4.", "The answer is 4.": "It is 4, I think."}


def test_two_rollouts_call_sequence_q_values_and_final(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = mctsr_model("The answer is 5.", GRADES, REFINEMENTS)
    outcome = run_scripted(MCTSr(rollouts=2), model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == [
        "generator", "reward", "reward",                          # a0, then both roots graded
        "reward", "critic", "refiner", "reward",                  # rollout 1: revisit a0 | expand; grade a1
        "reward", "critic", "refiner", "reward",                  # rollout 2: the same on a1
    ]
    assert outcome.usage.calls == 3 + 4 * 2
    assert (outcome.text, outcome.answer, outcome.stop_reason) == ("The answer is 4.", "4", "rollouts")
    a0, dummy, a1, a2 = outcome.candidates
    assert [(c.round, c.kind) for c in outcome.candidates] == [(0, "draft"), (0, "dummy"), (1, "refine"),
                                                               (2, "refine")]
    assert [c.score for c in outcome.candidates] == [35.0, -80.0, 45.0, 30.0]
    assert (a1.parent, a2.parent) == (a0.seq, a1.seq)
    assert a0.metadata["rewards"] == [40.0, 20.0] and a0.metadata["visits"] == 2
    assert a1.metadata["rewards"] == [90.0, 50.0]  # the 100 was suppressed
    assert (dummy.text, dummy.answer) == (DUMMY, None)
    assert (a0.feedback, a0.verdict, dummy.feedback) == (CRITIQUE, Verdict.REVISE, None)


def test_the_stored_trace_keeps_the_final_q_values(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    outcome = run_scripted(MCTSr(rollouts=2), mctsr_model("The answer is 5.", GRADES, REFINEMENTS),
                           store=store, extract=extract_number)
    stored = store.get_run(outcome.run_id).candidates
    assert [c.score for c in stored] == [35.0, -80.0, 45.0, 30.0]


def test_the_refiner_sees_the_answer_and_its_critique() -> None:
    model = mctsr_model("The answer is 5.", GRADES, REFINEMENTS)
    run_scripted(MCTSr(rollouts=1), model, extract=extract_number)
    [refine] = [m[0]["content"] for m, _ in model.history if "Refine your answer" in m[0]["content"]]
    assert "Question: What is 2 + 2?" in refine
    assert f"Your previous answer:\nThe answer is 5.\n\nReflection on it:\n{CRITIQUE}" in refine


def test_q_value_and_uct_by_hand() -> None:
    assert q_value([40.0, 20.0]) == 25.0 and q_value([90.0, 50.0]) == 60.0 and q_value([-80.0]) == -80.0
    assert q_value([]) == NO_REWARD_Q
    assert uct(90.0, 2, 1) == pytest.approx(90 + 1.4 * math.sqrt(math.log(3) / 1.00001))
    assert uct(90.0, 2, 1) == pytest.approx(91.4674, abs=1e-4)
    assert uct(40.0, 0, 5) == 40.0  # a root: no exploration bonus
    assert uct(0.0, 3, 0, eps=1e-5) == pytest.approx(1.4 * math.sqrt(math.log(4) / 1e-5))


def test_selection_weighs_exploration_against_q() -> None:
    # Child Q 40 < root Q 41, but UCT(child) = 40 + 1.4·sqrt(ln 4 / 1) = 41.648 > 41.
    tree = [Node("root", rewards=[41.0], visits=3, q=41.0, children=[1]),
            Node("child", parent=0, rewards=[40.0], visits=1, q=40.0)]
    assert select_node(tree, c=1.4, eps=1e-5, max_children=3) == 1
    assert select_node(tree, c=0.0, eps=1e-5, max_children=3) == 0
    tree[1].q = 39.0  # 39 + 1.648 = 40.648 < 41
    assert select_node(tree, c=1.4, eps=1e-5, max_children=3) == 0


def test_expandable_means_room_for_a_child_or_children_worse_than_the_node() -> None:
    tree = [Node("root", q=50.0, children=[1, 2, 3])] + [Node(f"c{i}", parent=0, q=q)
                                                         for i, q in enumerate([10.0, 20.0, 40.0])]
    assert expandable(tree, 0, max_children=3)  # full, but every child is worse than the root
    tree[3].q = 60.0
    assert not expandable(tree, 0, max_children=3)
    assert expandable(tree, 0, max_children=4)
    assert select_node(tree, 1.4, 1e-5, 3) == 3  # the root is excluded; the best child wins


def test_backpropagation_averages_each_node_with_its_best_child_up_to_the_root() -> None:
    tree = [Node("root", rewards=[10.0], visits=1, children=[1, 2]),
            Node("a", parent=0, rewards=[20.0], visits=1, children=[3, 4]),
            Node("b", parent=0, rewards=[0.0], visits=1, q=0.0),
            Node("a'", parent=1, rewards=[60.0], visits=1, q=60.0),
            Node("a''", parent=1)]  # refined but not graded yet (a budget cut): ignored
    assert backpropagate(tree, 1) == [1, 0]
    assert tree[1].q == (20 + 60) / 2  # 40
    assert tree[0].q == (10 + 40) / 2  # 25: the best child is a (40), not b (0)
    assert tree[3].q == 60.0 and tree[2].q == 0.0  # below the path: untouched


def test_reward_parsing_is_defensive_and_suppresses_near_full_marks() -> None:
    assert parse_reward("[Analysis] fine\n[Score] 97") == 50.0
    assert parse_reward("[Score] 94") == 94.0
    assert parse_reward("Score: -30.") == -30.0
    assert parse_reward("I give it a score of 70 overall") == 70.0
    assert parse_reward("score 10 at first... [Score] 85/100") == 85.0  # the last score line
    assert parse_reward("[Score] 150") is None and parse_reward("no grade here") is None
    assert parse_reward("[Score] 99", high=100, suppressed=0) == 99.0


def test_the_dummy_is_never_final_and_unreadable_grades_are_recorded() -> None:
    grades = {"The answer is 5.": ["Looks great!"], DUMMY: ["[Score] -50"]}
    model = mctsr_model("The answer is 5.", grades, {})
    outcome = run_scripted(MCTSr(rollouts=0), model, extract=extract_number)
    assert outcome.usage.calls == 3
    assert outcome.text == "The answer is 5."  # Q -100 (no readable grade) still beats nothing; dummy is -50
    draft = outcome.candidates[0]
    assert draft.score == NO_REWARD_Q
    meta = draft.metadata
    assert (meta["unparsed_rewards"], meta["visits"], meta["rewards"]) == (1, 1, [])


def test_budget_cut_returns_the_best_q_so_far() -> None:
    model = mctsr_model("The answer is 5.", GRADES, REFINEMENTS)
    outcome = run_scripted(MCTSr(rollouts=2), model, budget=Budget(max_calls=9), extract=extract_number)
    assert outcome.stop_reason == "budget" and outcome.usage.calls == 9  # cut before rollout 2's refiner
    assert outcome.text == "The answer is 4."  # a1: Q (50 + 70) / 2 = 60 after its second grade > a0 57.5
    assert [c.score for c in outcome.candidates] == [57.5, -80.0, 60.0]
    model = mctsr_model("The answer is 5.", GRADES, REFINEMENTS)
    outcome = run_scripted(MCTSr(rollouts=2), model, budget=Budget(max_calls=10), extract=extract_number)
    assert [c.kind for c in outcome.candidates] == ["draft", "dummy", "refine", "refine"]
    assert outcome.candidates[-1].score is None  # refined but never graded: ranks last
    assert outcome.text == "The answer is 4."


class Picks:
    """A stand-in generator: records what it was asked to draw from and returns scripted picks."""

    def __init__(self, picks: list[int]) -> None:
        self.picks = picks
        self.seen: list[dict[int, float] | list[int]] = []

    def choices(self, population: list[int], weights: list[float], k: int) -> list[int]:
        self.seen.append(dict(zip(population, weights, strict=True)))
        return [self.picks.pop(0)]

    def choice(self, population: list[int]) -> int:
        self.seen.append(list(population))
        return self.picks.pop(0)


def test_zero_shot_init_has_the_draft_as_its_only_root(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = mctsr_model("The answer is 5.", GRADES, REFINEMENTS)
    outcome = run_scripted(MCTSr(rollouts=1, init="zero_shot"), model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator", "reward", "reward", "critic", "refiner", "reward"]
    assert outcome.usage.calls == 2 + 4 * 1
    assert [c.kind for c in outcome.candidates] == ["draft", "refine"]
    assert [c.score for c in outcome.candidates] == [57.5, 90.0]  # (25 + 90) / 2, as with the dummy
    assert outcome.answer == "4"


def test_importance_weights_are_uct_times_a_uniform_strategy_over_the_candidates() -> None:
    tree = [Node("root", rewards=[41.0], visits=3, q=41.0, children=[1]),
            Node("child", parent=0, rewards=[40.0], visits=1, q=40.0)]
    child = 40 + 1.4 * math.sqrt(math.log(4) / 1.00001)
    assert importance_weights(tree, 1.4, 1e-5, 3) == pytest.approx({0: 41.0 / 2, 1: child / 2})
    picks = Picks([0])
    assert sample_node(tree, 1.4, 1e-5, 3, picks) == 0  # not the argmax (1): a draw
    tree[0].q, tree[1].q = -50.0, -60.0  # negative UCTs weigh nothing; all zero: a uniform draw
    picks = Picks([1])
    assert sample_node(tree, 1.4, 1e-5, 3, picks) == 1 and picks.seen == [[0, 1]]


def test_importance_selection_draws_from_the_seeded_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    picks = Picks([0])
    monkeypatch.setattr(mctsr, "seeded_rng", lambda *args: picks)
    model = mctsr_model("The answer is 5.", GRADES, REFINEMENTS)
    outcome = run_scripted(MCTSr(rollouts=1, selection="importance"), model, extract=extract_number)
    assert picks.seen == [{0: 40.0 / 2, 1: 0.0}]  # roots: UCT = Q; the dummy's -80 weighs 0
    assert outcome.usage.calls == 3 + 4 and outcome.answer == "4"


def test_importance_selection_is_the_same_on_the_same_seed() -> None:
    def run() -> list[str]:
        model = mctsr_model("The answer is 5.", GRADES, REFINEMENTS)
        run_scripted(MCTSr(rollouts=2, selection="importance"), model, extract=extract_number,
                     sampling={"seed": 3})
        return [m[0]["content"] for m, _ in model.history]

    assert run() == run()


def test_final_tournament_ranks_the_best_by_q_and_its_winner_is_final(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = mctsr_model("The answer is 5.", GRADES, REFINEMENTS, preferred="The answer is 5.")
    strategy = MCTSr(rollouts=2, final="tournament", final_pool=2)
    outcome = run_scripted(strategy, model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id)[11:] == ["reward", "reward"]  # a1 (Q 45) vs a0 (Q 35), both orders
    assert outcome.usage.calls == 3 + 4 * 2 + 2
    assert outcome.text == "The answer is 5."  # the tournament's winner over the higher Q
    a0, _, a1, a2 = outcome.candidates
    assert (a0.metadata["tournament"]["rank"], a1.metadata["tournament"]["rank"]) == (1, 2)
    assert "tournament" not in a2.metadata
    assert [c.score for c in outcome.candidates] == [35.0, -80.0, 45.0, 30.0]
    assert all("temperature" not in sampling for _, sampling in model.history[11:])  # the run's sampling


def test_final_tournament_cut_by_the_budget_falls_back_to_the_highest_q() -> None:
    model = mctsr_model("The answer is 5.", GRADES, REFINEMENTS, preferred="The answer is 5.")
    outcome = run_scripted(MCTSr(rollouts=2, final="tournament"), model, budget=Budget(max_calls=11),
                           extract=extract_number)
    assert (outcome.stop_reason, outcome.text) == ("budget", "The answer is 4.")

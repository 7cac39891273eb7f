"""AB-MCTS: the posteriors by hand, and wider/deeper decisions call by call under scripted draws."""

from __future__ import annotations

import asyncio
import math
import re

import pytest

from redraft.context import Budget
from redraft.models.base import Message
from redraft.models.scripted import ScriptedModel
from redraft.runs.runner import run_strategy
from redraft.runs.store import RunStore
from redraft.strategies import ab_mcts
from redraft.strategies.ab_mcts import ABMCTS, Node, choose_node, draw, gaussian_posterior
from redraft.strategies.base import StrategyError
from redraft.tasks.extract import extract_number
from tests.helpers import PROBLEM, managed, roles, run_scripted


class Draws:
    """A stand-in generator: records each posterior it is asked to draw from, returns scripted draws."""

    def __init__(self, draws: list[float]) -> None:
        self.draws = draws
        self.asked: list[tuple[float, ...]] = []

    def betavariate(self, a: float, b: float) -> float:
        self.asked.append((a, b))
        return self.draws.pop(0)

    def gammavariate(self, alpha: float, beta: float) -> float:
        self.asked.append((alpha, beta))
        return 4.0

    def gauss(self, mu: float, sigma: float) -> float:
        self.asked.append((mu, sigma))
        return mu


def flat(pairs: list[tuple[float, ...]]) -> list[float]:
    return [x for pair in pairs for x in pair]


def test_the_gaussian_posterior_and_its_draw_by_hand() -> None:
    # Scores 0.2 and 0.6 on the prior (m, κ, ν, τ²) = (0, 1, 1, 0.1): mean 0.4, spread 0.08.
    m, kappa, nu, tau2 = gaussian_posterior([0.2, 0.6])
    assert (m, kappa, nu) == (pytest.approx(0.8 / 3), 3.0, 3.0)
    assert tau2 == pytest.approx((0.1 + 0.08 + 2 * 0.16 / 3) / 3)
    assert gaussian_posterior([]) == (0.0, 1.0, 1.0, 0.1)
    rng = Draws([])
    assert draw([0.2, 0.6], "gaussian", rng) == pytest.approx(0.8 / 3)  # the stand-in's gauss returns μ
    (alpha, beta), (mu, sigma) = rng.asked
    assert (alpha, beta) == (1.5, pytest.approx(2 / (3 * tau2)))  # σ² = 1 / Gamma(ν/2, scale 2/(ντ²))
    assert sigma == pytest.approx(math.sqrt(0.25 / 3))  # σ² = 1/4 from the draw 4.0, over κ = 3
    rng = Draws([0.3])
    assert draw([0.2, 1.0], "beta", rng) == 0.3 and rng.asked == [(1.7, pytest.approx(1.3))]


def test_selection_goes_deeper_only_while_cont_outdraws_gen() -> None:
    tree = [
        Node(children=[1, 2], below=[0.2, 0.8, 0.1]),
        Node(parent=0, score=0.2, children=[3], below=[0.1]),
        Node(parent=0, score=0.8),
        Node(parent=1, score=0.1),
    ]
    # Root: GEN 0.4 < CONT 0.6, children 0.9 vs 0.3; node 1: GEN 0.2 < CONT 0.7, its one child 0.5.
    rng = Draws([0.4, 0.6, 0.9, 0.3, 0.2, 0.7, 0.5])
    assert choose_node(tree, "beta", rng) == 3  # down to node 1, then to its only child, a leaf
    # The root: GEN over its children's 0.2 and 0.8, CONT over node 3's 0.1; its children: node 1
    # (0.2 and the 0.1 below it), node 2 (0.8); node 1: GEN over node 3's 0.1, CONT over nothing yet;
    # its child, node 3 (0.1).
    expected = [(1.5, 1.5), (0.6, 1.4), (0.8, 2.2), (1.3, 0.7), (0.6, 1.4), (0.5, 0.5), (0.6, 1.4)]
    assert flat(rng.asked) == pytest.approx(flat(expected))
    assert choose_node(tree, "beta", Draws([0.5, 0.5])) == 0  # a tie goes wider


ANSWERS = {
    "The answer is 5.": "Score: 2/10\nVERDICT: revise",
    "The answer is 3.": "Score: 1/10\nVERDICT: revise",
    "The answer is 4.": "Score: 8/10\nVERDICT: revise",
    "So the answer is 4.": "Score: 9/10\nVERDICT: correct",
}
REFINED = {"The answer is 5.": "The answer is 3.", "The answer is 4.": "So the answer is 4."}


def searcher(fresh: list[str]) -> ScriptedModel:
    """Fresh answers in order; refinements by REFINED; critiques by ANSWERS."""
    drafts = iter(fresh)

    def reply(messages: list[Message]) -> str:
        text = messages[-1]["content"]
        if text == PROBLEM.prompt:
            return next(drafts)
        if "Proposed answer:\n" in text:
            return ANSWERS.get(text.split("Proposed answer:\n", 1)[1], "Looks fine.")
        return REFINED.get(re.findall(r"Your previous answer:\n(.*)", text)[0], "The answer is 2.")

    return ScriptedModel(reply)


def test_wider_and_deeper_call_by_call(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 1: the root has no children: a fresh sample (0.2).  2: GEN 0.3 < CONT 0.9 at the root, the only
    # child, a leaf: refine it (0.1).  3: GEN 0.8 > CONT 0.1: a fresh sample (0.8).  4: GEN 0.1 < CONT
    # 0.2; child draws 0.2 vs 0.7: the second sample, a leaf: refine it (0.9).
    rng = Draws([0.3, 0.9, 0.5, 0.8, 0.1, 0.1, 0.2, 0.2, 0.7])
    monkeypatch.setattr(ab_mcts, "seeded_rng", lambda *args: rng)
    store = RunStore(tmp_path / "r.db")
    model = searcher(["The answer is 5.", "The answer is 4."])
    outcome = run_scripted(ABMCTS(iterations=4, dist="beta"), model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator", "critic", "refiner", "critic"] * 2
    assert outcome.usage.calls == 2 * 4 and rng.draws == []
    # The posteriors drawn from: 2: GEN [0.2], CONT [], child 1 [0.2]; 3: GEN [0.2], CONT [0.1];
    # 4: GEN [0.2, 0.8], CONT [0.1], child 1 [0.2, 0.1], child 3 [0.8].
    expected = [
        (0.7, 1.3),
        (0.5, 0.5),
        (0.7, 1.3),
        (0.7, 1.3),
        (0.6, 1.4),
        (1.5, 1.5),
        (0.6, 1.4),
        (0.8, 2.2),
        (1.3, 0.7),
    ]
    assert flat(rng.asked) == pytest.approx(flat(expected))
    first, refined, second, best = outcome.candidates
    assert [(c.round, c.kind, c.score) for c in outcome.candidates] == [
        (1, "sample", 0.2),
        (2, "refine", 0.1),
        (3, "sample", 0.8),
        (4, "refine", 0.9),
    ]
    assert (refined.parent, best.parent) == (first.seq, second.seq)
    assert (outcome.text, outcome.stop_reason) == ("So the answer is 4.", "iterations")
    refine_prompt = model.history[6][0][-1]["content"]
    shown = "Your previous answer:\nThe answer is 4.\n\nFeedback on it:\nScore: 8/10\nVERDICT: revise"
    assert shown in refine_prompt
    temperatures = [sampling.get("temperature") for _, sampling in model.history]
    assert temperatures == [0.7, None] * 4  # generations sample; judgements use the run's sampling


def test_multi_model_the_action_also_picks_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    # 1: arms draw 0.2 (generator) vs 0.9 (refiner): the refiner's model writes a fresh answer (0.6).
    # 2: GEN 0.9 > CONT 0.1; arms 0.8 vs 0.3: the generator's model writes one (0.3).
    # 3: GEN 0.1 < CONT 0.5; children 0.9 vs 0.2: the first, a leaf; arms 0.7 vs 0.1: the generator's
    #    model refines the refiner's answer.
    rng = Draws([0.2, 0.9, 0.9, 0.1, 0.8, 0.3, 0.1, 0.5, 0.9, 0.2, 0.7, 0.1])
    monkeypatch.setattr(ab_mcts, "seeded_rng", lambda *args: rng)
    first = ScriptedModel(
        lambda m: "The answer is 5." if m[-1]["content"] == PROBLEM.prompt else "Then 4.", name="first"
    )
    second = ScriptedModel(lambda m: "The answer is 4.", name="second")
    critic = ScriptedModel(lambda m: "Score: 6/10" if m[-1]["content"].endswith("is 4.") else "Score: 3/10")
    models = {"generator": managed(first), "refiner": managed(second), "critic": managed(critic)}
    outcome = asyncio.run(
        run_strategy(
            ABMCTS(iterations=3, dist="beta", multi_model=True), PROBLEM, models, extract=extract_number
        )
    )
    assert [c.metadata["arm"] for c in outcome.candidates] == ["refiner", "generator", "generator"]
    assert [c.kind for c in outcome.candidates] == ["sample", "sample", "refine"]
    assert outcome.candidates[2].parent == outcome.candidates[0].seq
    assert [m[-1]["content"] for m, _ in second.history] == [PROBLEM.prompt]
    assert "Your previous answer:\nThe answer is 4." in first.history[1][0][-1]["content"]
    assert len(critic.history) == 3 and outcome.text == "The answer is 4."
    assert flat(rng.asked[4:6]) == pytest.approx(flat([(0.5, 0.5), (1.1, 0.9)]))  # 2: arm posteriors


def test_multi_model_needs_two_bound_models() -> None:
    with pytest.raises(StrategyError, match="at least two models"):
        run_scripted(ABMCTS(multi_model=True), searcher(["The answer is 5."]))


def test_an_unreadable_judgement_scores_zero_and_is_counted() -> None:
    model = searcher(["The answer is 7."])
    outcome = run_scripted(ABMCTS(iterations=1), model, extract=extract_number)
    [only] = outcome.candidates
    assert (only.score, only.metadata["unscored"], only.verdict.value) == (0.0, True, "unknown")


def test_a_seeded_search_replays_exactly_and_a_budget_cut_keeps_the_best_judged() -> None:
    def run() -> list[tuple[str, str]]:
        model = searcher(["The answer is 5.", "The answer is 4.", "The answer is 5."] * 3)
        outcome = run_scripted(ABMCTS(iterations=6), model, extract=extract_number, sampling={"seed": 11})
        assert outcome.usage.calls == 12
        return [(m[-1]["content"], str(s.get("seed"))) for m, s in model.history]

    assert run() == run()
    outcome = run_scripted(
        ABMCTS(iterations=4),
        searcher(["The answer is 5.", "The answer is 4."] * 2),
        budget=Budget(max_calls=3),
        extract=extract_number,
    )
    assert (outcome.stop_reason, outcome.usage.calls, outcome.text) == ("budget", 3, "The answer is 5.")
    assert outcome.candidates[-1].score is None  # generated, never judged: ranks last

"""RSA on scripted models: the population, the K-member aggregations, the vote over the last round."""

from __future__ import annotations

import re

import pytest

from redraft.context import Budget
from redraft.feedback.critic import CriticFeedback
from redraft.models.base import Message
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies import rsa
from redraft.strategies.base import StrategyError
from redraft.strategies.gsr import synthesis_prompt
from redraft.strategies.registry import build_strategy
from redraft.strategies.rsa import RSA
from redraft.tasks.extract import extract_number
from tests.helpers import PROBLEM, roles, run_scripted

SAMPLES = ["The answer is 5.", "The answer is 4.", "The answer is 6."]


class Subsets:
    """A stand-in generator whose `sample` returns scripted index lists (and records its calls)."""

    def __init__(self, subsets: list[list[int]]) -> None:
        self.subsets = subsets
        self.calls: list[tuple[int, int]] = []

    def sample(self, population: range, k: int) -> list[int]:
        self.calls.append((len(population), k))
        return self.subsets.pop(0)


class Aggregator:
    """Samples SAMPLES in order; an aggregation answers the largest answer it was shown, plus one."""

    def __init__(self) -> None:
        self.drafts = iter(SAMPLES)

    def __call__(self, messages: list[Message]) -> str:
        text = messages[-1]["content"]
        if text == PROBLEM.prompt:
            return next(self.drafts)
        shown = [int(n) for n in re.findall(r"Candidate \d+:\n.*?(\d+)\.", text)]
        return f"Combining them: the answer is {max(shown) + 1}."


def test_rounds_of_k_member_aggregations_then_a_vote_over_the_last(tmp_path, monkeypatch) -> None:
    # Round 1 from (5, 4, 6): {5, 4} -> 6, {6, 5} -> 7, {4, 5} -> 6; round 2 from (6, 7, 6):
    # {6, 7} -> 8, {6, 6} -> 7, {7, 6} -> 8. The vote over round 2: 8 (2 of 3).
    subsets = Subsets([[0, 1], [2, 0], [1, 0], [0, 1], [0, 2], [1, 2]])
    monkeypatch.setattr(rsa, "seeded_rng", lambda *args: subsets)
    store = RunStore(tmp_path / "r.db")
    model = ScriptedModel(Aggregator())
    outcome = run_scripted(RSA(n=3, k=2, rounds=2), model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator"] + ["refiner"] * 6  # the N samples are one request
    assert outcome.usage.calls == 3 * (2 + 1) and subsets.calls == [(3, 2)] * 6
    assert [(c.round, c.kind, c.answer) for c in outcome.candidates] == [
        (0, "sample", "5"),
        (0, "sample", "4"),
        (0, "sample", "6"),
        (1, "aggregate", "6"),
        (1, "aggregate", "7"),
        (1, "aggregate", "6"),
        (2, "aggregate", "8"),
        (2, "aggregate", "7"),
        (2, "aggregate", "8"),
    ]
    assert (outcome.answer, outcome.stop_reason) == ("8", "rounds")
    final = outcome.candidates[6]
    assert outcome.text == final.text and final.metadata["vote"]["counts"] == {"8": 2.0, "7": 1.0}
    assert final.metadata["initial_majority"] == "5"  # a three-way tie in P_0: the first answer
    sample_seqs = [c.seq for c in outcome.candidates[:3]]
    assert outcome.candidates[4].metadata["sources"] == [sample_seqs[2], sample_seqs[0]]


def test_the_aggregation_prompt_is_gsrs_over_the_drawn_members(monkeypatch) -> None:
    monkeypatch.setattr(rsa, "seeded_rng", lambda *args: Subsets([[2, 0], [0, 1], [1, 2]]))
    model = ScriptedModel(Aggregator())
    outcome = run_scripted(RSA(n=3, k=2, rounds=1), model, budget=Budget(max_calls=4), extract=extract_number)
    samples = outcome.candidates[:3]
    assert model.history[3][0][-1]["content"] == synthesis_prompt(PROBLEM, [samples[2], samples[0]])
    assert "2 candidate solutions" in model.history[3][0][-1]["content"]
    assert [s.get("temperature") for _, s in model.history] == [0.7] * 4  # samples and aggregations


def test_a_budget_cut_in_a_round_votes_over_what_it_paid_for(monkeypatch) -> None:
    monkeypatch.setattr(rsa, "seeded_rng", lambda *args: Subsets([[0, 1], [2, 0], [1, 0]]))
    outcome = run_scripted(
        RSA(n=3, k=2, rounds=2),
        ScriptedModel(Aggregator()),
        budget=Budget(max_calls=5),
        extract=extract_number,
    )
    assert (outcome.stop_reason, outcome.usage.calls) == ("budget", 5)
    assert [c.answer for c in outcome.candidates if c.round == 1] == ["6", "7"]  # the third was refused
    assert outcome.answer == "6"  # the vote over round 1's two (a tie: the first)
    outcome = run_scripted(
        RSA(n=3, k=2, rounds=2),
        ScriptedModel(Aggregator()),
        budget=Budget(max_calls=3),
        extract=extract_number,
    )
    assert (outcome.stop_reason, outcome.answer) == ("budget", "5")  # no aggregation: P_0's vote


def test_a_feedback_source_judges_each_member_before_it_is_aggregated(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(rsa, "seeded_rng", lambda *args: Subsets([[0, 1], [1, 0]]))
    store = RunStore(tmp_path / "r.db")
    critic = ScriptedModel(lambda messages: "Check the sum.\nVERDICT: revise")
    outcome = run_scripted(
        RSA(n=2, k=2, rounds=1, feedback=CriticFeedback()),
        ScriptedModel(Aggregator()),
        critic=critic,
        store=store,
        extract=extract_number,
    )
    assert roles(store, outcome.run_id) == ["generator", "critic", "critic", "refiner", "refiner"]
    aggregation = store.get_run(outcome.run_id).call_records[3].messages[-1]["content"]
    assert "Feedback on candidate 2:\nCheck the sum." in aggregation


def test_the_subsets_come_from_the_runs_seed_and_have_k_distinct_members() -> None:
    def prompts(seed: int) -> list[str]:
        model = ScriptedModel(Aggregator())
        run_scripted(RSA(n=3, k=2, rounds=2), model, extract=extract_number, sampling={"seed": seed})
        return [m[-1]["content"] for m, _ in model.history[3:]]

    first = prompts(1)
    assert first == prompts(1)
    for prompt in first:
        shown = re.findall(r"Candidate \d+:\n(.*)", prompt)
        assert len(shown) == 2


def test_k_cannot_exceed_the_population() -> None:
    with pytest.raises(StrategyError, match="cannot be drawn from a population of n=2"):
        build_strategy("rsa[n=2,k=3]")
    assert RSA().params.model_dump() == {"n": 16, "k": 4, "rounds": 10, "temperature": 0.7}

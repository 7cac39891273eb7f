"""Iterative Deepening Sampling call by call: a trajectory cut by its budget is re-triggered in the
same turn with a doubled budget, until it finishes or reaches the maximum; then the vote."""

from __future__ import annotations

import pytest

from redraft.api import build_strategy
from redraft.context import Budget
from redraft.models.base import Message
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.base import StrategyError
from redraft.strategies.id_sampling import IDSampling
from redraft.tasks.extract import extract_number
from tests.helpers import roles, run_scripted

TRIGGER = " Wait, let me re-check."
#: Trajectory 1 finishes within b0 = 4 words; 2 is cut twice, then finishes; 3 finishes.
FIRSTS = ["The answer is 5.", "Let me add two and two", "The answer is 4."]
SECOND = ", so 2 + 2 = 4. The answer is 4."  # 11 words: cut at 8
THIRD = " answer is 4."


def test_a_cut_trajectory_is_continued_with_the_trigger_and_a_doubled_budget(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = ScriptedModel([*FIRSTS, SECOND, THIRD])
    strategy = IDSampling(n=3, b0=4, max_budget=20)
    outcome = run_scripted(strategy, model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator"] * 3  # the 3 first segments are one request
    assert len(model.history) == 5
    assert [s["max_tokens"] for _, s in model.history] == [4, 4, 4, 8, 8]  # b0, then 2·b0, then what is left
    assert all(s["temperature"] == 0.7 for _, s in model.history)
    first_cut = "Let me add two" + TRIGGER
    messages, sampling = model.history[3]
    assert messages == [
        {"role": "user", "content": "What is 2 + 2?"},
        {"role": "assistant", "content": first_cut},
    ]
    assert sampling["continue_final"] is True and "continue_final" not in model.history[0][1]
    second_cut = first_cut + ", so 2 + 2 = 4. The" + TRIGGER
    assert model.history[4][0][-1]["content"] == second_cut
    deepened = outcome.candidates[1]
    assert deepened.text == second_cut + THIRD
    assert deepened.metadata["segments"] == [
        {"max_tokens": 4, "tokens": 4, "finish_reason": "length"},
        {"max_tokens": 8, "tokens": 8, "finish_reason": "length"},
        {"max_tokens": 8, "tokens": 3, "finish_reason": "stop"},
    ]
    assert deepened.metadata["stop"] == "finished"
    assert [c.metadata["stop"] for c in outcome.candidates] == ["finished"] * 3
    assert [(c.round, c.kind) for c in outcome.candidates] == [(0, "sample")] * 3
    # The vote: 4 (twice) beats 5; the first trajectory carrying 4 is the answer.
    assert (outcome.answer, outcome.text, outcome.stop_reason) == ("4", deepened.text, "voted")
    assert deepened.metadata["vote"]["counts"] == {"5": 1.0, "4": 2.0}


def test_a_trajectory_stops_at_the_maximum_budget() -> None:
    model = ScriptedModel(["Let me add two and two"])
    outcome = run_scripted(IDSampling(n=1, b0=4, max_budget=4), model, extract=extract_number)
    assert len(model.history) == 1 and outcome.candidates[0].metadata["stop"] == "max_budget"
    assert outcome.text == "Let me add two"


def test_a_new_turn_instead_of_a_continuation_stops_the_trajectory_and_says_so() -> None:
    model = ScriptedModel(["Let me add two and two", "The answer is 4."])  # glued to the trigger
    outcome = run_scripted(IDSampling(n=1, b0=4, max_budget=20), model, extract=extract_number)
    sample = outcome.candidates[0]
    assert sample.metadata["stop"] == "not_continued" and "glued" in sample.metadata["not_continued"]
    assert outcome.stop_reason == "not_continued" and len(model.history) == 2


def test_a_budget_cut_keeps_each_trajectory_as_far_as_it_got() -> None:
    def reply(messages: list[Message]) -> str:
        return "Let me add two and two" if messages[-1]["role"] == "user" else ", it is 4. The answer is 4."

    model = ScriptedModel(reply)
    outcome = run_scripted(
        IDSampling(n=2, b0=4, max_budget=40), model, budget=Budget(max_calls=3), extract=extract_number
    )
    assert outcome.stop_reason == "budget" and len(model.history) == 3
    stops = sorted(c.metadata["stop"] for c in outcome.candidates)
    assert stops == ["budget", "finished"]  # one continued and finished; the other's was refused
    assert sorted(len(c.metadata["segments"]) for c in outcome.candidates) == [1, 2]
    assert outcome.answer == "4"  # the finished one; the cut one says only "Let me add two"


def test_with_a_feedback_source_the_vote_is_weighted_by_its_scores() -> None:
    generator = ScriptedModel(["The answer is 5.", "The answer is 5.", "The answer is 4."])
    critic = ScriptedModel(["Score: 1/10", "Score: 2/10", "Score: 9/10"])
    outcome = run_scripted(
        build_strategy("id_sampling", "critic", n=3), generator, critic=critic, extract=extract_number
    )
    assert outcome.answer == "4" and len(critic.history) == 3


def test_it_takes_no_composed_drafter_and_b0_must_fit_the_maximum() -> None:
    with pytest.raises(StrategyError, match="a composed drafter cannot give"):
        build_strategy("direct>id_sampling")
    with pytest.raises(StrategyError, match="b0"):
        IDSampling(b0=100, max_budget=50)

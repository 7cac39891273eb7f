"""GSR's control flow on scripted models: N samples, one synthesis, the majority kept for the gap."""

from __future__ import annotations

from redraft.api import build_strategy
from redraft.context import Budget
from redraft.feedback.critic import CriticFeedback
from redraft.models.base import Message
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.base import REGISTRY
from redraft.strategies.gsr import GSR
from redraft.tasks.extract import extract_number
from tests.helpers import roles, run_scripted

SAMPLES = ["The answer is 5.", "I get 5.", "It is 6.", "Clearly 7."]


def test_synthesis_is_final_and_can_beat_a_wrong_majority(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = ScriptedModel([*SAMPLES, "All candidates slipped: 2 + 2 = 4. The answer is 4."])
    outcome = run_scripted(GSR(), model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator", "refiner"]  # the N samples are one request
    assert outcome.usage.calls == 5 and len(model.history) == 5
    assert (outcome.answer, outcome.stop_reason) == ("4", "synthesized")
    assert [(c.round, c.kind) for c in outcome.candidates] == [(0, "sample")] * 4 + [(1, "synthesis")]
    final = outcome.candidates[-1]
    assert final.metadata["majority_answer"] == "5"  # the refinement gap is measurable from one run
    assert final.metadata["vote"]["counts"] == {"5": 2.0, "6": 1.0, "7": 1.0}
    assert "gsr" in REGISTRY


def test_the_refiner_sees_the_problem_and_every_candidate() -> None:
    model = ScriptedModel([*SAMPLES, "The answer is 4."])
    run_scripted(GSR(), model, extract=extract_number)
    prompt = model.history[-1][0][0]["content"]
    assert "What is 2 + 2?" in prompt and "4 candidate solutions" in prompt
    for index, text in enumerate(SAMPLES, start=1):
        assert f"Candidate {index}:\n{text}" in prompt
    assert prompt.index("Candidate 1") < prompt.index("Candidate 4")


def test_samples_use_the_temperature_parameter_and_n() -> None:
    model = ScriptedModel(["The answer is 1.", "The answer is 1.", "The answer is 2."])
    outcome = run_scripted(GSR(n=2, temperature=1.0), model, extract=extract_number)
    assert [s["temperature"] for _, s in model.history[:2]] == [1.0, 1.0]
    assert "temperature" not in model.history[2][1]  # the synthesis uses the run's sampling
    assert outcome.answer == "2"  # the synthesis wins even against a unanimous vote
    assert outcome.candidates[-1].metadata["majority_answer"] == "1"


def test_budget_cut_before_the_synthesis_falls_back_to_the_majority_sample() -> None:
    model = ScriptedModel(["It is 6.", *SAMPLES[:2], "Clearly 7."])
    outcome = run_scripted(GSR(), model, budget=Budget(max_calls=4), extract=extract_number)
    assert outcome.stop_reason == "budget" and outcome.usage.calls == 4
    assert outcome.text == "The answer is 5."  # first sample carrying the majority answer
    assert outcome.candidates[1].metadata["majority_answer"] == "5"
    assert all(c.kind == "sample" for c in outcome.candidates)


def test_a_tie_goes_to_the_first_answer_seen() -> None:
    model = ScriptedModel(["It is 6.", "I get 5.", "It is 5.", "Clearly 6."])
    outcome = run_scripted(GSR(), model, budget=Budget(max_calls=4), extract=extract_number)
    assert outcome.text == "It is 6."


def test_a_feedback_source_judges_each_sample_and_the_refiner_sees_it(tmp_path) -> None:
    def critic(messages: list[Message]) -> str:
        text = messages[0]["content"]
        return "Correct.\nVERDICT: correct" if "is 5" in text else "Arithmetic slip.\nVERDICT: revise"

    store = RunStore(tmp_path / "r.db")
    generator = ScriptedModel([*SAMPLES, "The answer is 5."])
    outcome = run_scripted(GSR(feedback=CriticFeedback()), generator, critic=ScriptedModel(critic),
                           store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator", "critic", "critic", "critic", "critic", "refiner"]
    assert [c.feedback for c in outcome.candidates[:2]] == ["Correct.\nVERDICT: correct",
                                                            "Arithmetic slip.\nVERDICT: revise"]
    prompt = generator.history[-1][0][0]["content"]
    assert "Feedback on candidate 3:\nArithmetic slip." in prompt
    assert outcome.answer == "5"


def test_a_budget_short_of_n_samples_takes_what_it_allows_and_votes() -> None:
    # 3 calls for N = 4: three samples (not none), no synthesis, the majority sample.
    model = ScriptedModel(["The answer is 5.", "The answer is 4.", "The answer is 4."])
    outcome = run_scripted(GSR(), model, budget=Budget(max_calls=3), extract=extract_number)
    assert (outcome.stop_reason, outcome.answer, outcome.usage.calls) == ("budget", "4", 3)
    assert [c.kind for c in outcome.candidates] == ["sample"] * 3


def test_composition_the_samples_come_from_the_inner_strategy(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    strategy = build_strategy("direct>gsr", n=2)
    model = ScriptedModel(["The answer is 5.", "The answer is 4.", "Synthesis: 4."])
    outcome = run_scripted(strategy, model, store=store, extract=extract_number)
    assert outcome.strategy == "direct>gsr" and outcome.answer == "4"
    stored = store.get_run(outcome.run_id).candidates
    assert [c.stage for c in stored] == ["direct#0", "direct#1", None, None, None]

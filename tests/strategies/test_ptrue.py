"""P(True) selection call by call: k samples, a verifier call read from logprobs each, summed per answer."""

from __future__ import annotations

import math

import pytest

from redraft.api import build_strategy
from redraft.context import Budget
from redraft.models.base import Completion, Message
from redraft.models.scripted import ScriptedModel, logprob_reply
from redraft.runs.store import RunStore
from redraft.strategies.base import StrategyError
from redraft.strategies.ptrue import PTrue
from redraft.tasks.extract import extract_number
from tests.helpers import roles, run_scripted

SAMPLES = ["The answer is 4.", "2 + 2 = 5. The answer is 5.", "The answer is 5."]
#: The verifier's P(True) for each proposed sample.
P_TRUE = {SAMPLES[0]: 0.9, SAMPLES[1]: 0.3, SAMPLES[2]: 0.25}


def verdict(p: float) -> Completion:
    """ "(A) True" with P(A) = p and P(B) = 1 - p among the first token's alternatives."""
    return logprob_reply("(A) True", top=[{"(A)": math.log(p), "(B)": math.log(1 - p)}])


def model_for(p_true: dict[str, float], samples: list[str] = SAMPLES, **kwargs: object) -> ScriptedModel:
    queue = list(samples)

    def reply(messages: list[Message]) -> str | Completion:
        prompt = messages[-1]["content"]
        if "Proposed answer:" not in prompt:
            return queue.pop(0)
        proposed = prompt.split("Proposed answer: ", 1)[1].split("\nIs the proposed answer", 1)[0]
        return verdict(p_true[proposed]) if proposed in p_true else "I am not sure."

    return ScriptedModel(reply, **kwargs)  # type: ignore[arg-type]


def test_the_answer_with_the_most_summed_p_true_wins_over_the_majority(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = model_for(P_TRUE)
    outcome = run_scripted(PTrue(k=3), model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == [
        "generator",
        "verifier",
        "verifier",
        "verifier",
    ]  # samples: 1 request
    assert len(model.history) == 6 and outcome.usage.calls == 6
    assert (outcome.answer, outcome.text, outcome.stop_reason) == ("4", SAMPLES[0], "voted")
    assert [c.score for c in outcome.candidates] == pytest.approx([0.9, 0.3, 0.25])
    assert outcome.candidates[0].metadata["vote"]["counts"] == pytest.approx({"4": 0.9, "5": 0.55})
    assert all(s["temperature"] == 1.0 for _, s in model.history[:3])
    verifier = [s for _, s in model.history[3:]]
    assert all(
        s == {"logprobs": True, "top_logprobs": 20, "temperature": 0.0, "max_tokens": 16} for s in verifier
    )  # greedy, short, no judging floor on max_tokens


def test_each_prompt_shows_the_other_samples_as_brainstormed_ideas() -> None:
    model = model_for(P_TRUE)
    run_scripted(PTrue(k=3), model, extract=extract_number)
    prompts = [messages[-1]["content"] for messages, _ in model.history[3:]]
    assert prompts[0] == (
        "Question: What is 2 + 2?\n"
        "Here are some brainstormed ideas:\n2 + 2 = 5. The answer is 5.\nThe answer is 5.\n"
        "Proposed answer: The answer is 4.\n"
        "Is the proposed answer correct?\n (A) True\n (B) False\nThe proposed answer is:"
    )
    assert "ideas:\nThe answer is 4.\nThe answer is 5.\nProposed answer: 2 + 2 = 5" in prompts[1]


@pytest.mark.parametrize(("brainstorm", "ideas"), [("answers", "ideas:\n5\n5\nProposed"), ("none", None)])
def test_the_brainstorm_can_be_the_answers_or_nothing(brainstorm: str, ideas: str | None) -> None:
    model = model_for(P_TRUE)
    run_scripted(PTrue(k=3, brainstorm=brainstorm), model, extract=extract_number)
    first = model.history[3][0][-1]["content"]
    if ideas is None:
        assert first.startswith("Question: What is 2 + 2?\nProposed answer: The answer is 4.\n")
    else:
        assert ideas in first


def test_an_unreadable_p_true_is_recorded_and_gives_no_weight() -> None:
    model = model_for({SAMPLES[1]: 0.3})  # the other two replies name no option
    outcome = run_scripted(PTrue(k=3), model, extract=extract_number)
    assert outcome.answer == "5" and outcome.text == SAMPLES[1]
    first = outcome.candidates[0]
    assert first.score is None and "neither (A)/(B)" in first.metadata["unreadable"]
    assert first.metadata["verifier_reply"] == "I am not sure."
    vote = outcome.candidates[1].metadata["vote"]
    assert (vote["counts"], vote["unscored"]) == ({"5": 0.3}, 2)


def test_with_no_readable_p_true_the_vote_is_a_plain_majority() -> None:
    outcome = run_scripted(PTrue(k=3), model_for({}), extract=extract_number)
    assert (outcome.answer, outcome.text) == ("5", SAMPLES[1])


def test_a_verifier_without_logprobs_is_refused_before_any_call() -> None:
    model = model_for(P_TRUE, supports_logprobs=False)
    with pytest.raises(StrategyError, match="reads token logprobs in the 'verifier' role"):
        run_scripted(PTrue(k=3), model, extract=extract_number)
    assert model.history == []


def test_only_the_verifier_needs_logprobs() -> None:
    generator = ScriptedModel(list(SAMPLES), supports_logprobs=False)
    critic = model_for(P_TRUE, samples=[])  # the verifier falls back to the critic's model
    outcome = run_scripted(PTrue(k=3), generator, critic=critic, extract=extract_number)
    assert outcome.answer == "4" and len(generator.history) == 3 and len(critic.history) == 3


def test_the_budget_cuts_verification_and_the_vote_uses_what_was_read() -> None:
    model = model_for(P_TRUE)
    outcome = run_scripted(PTrue(k=3), model, budget=Budget(max_calls=4), extract=extract_number)
    assert outcome.stop_reason == "budget" and len(model.history) == 4
    # The first verification ran; the next was refused, so the third never started.
    assert outcome.answer == "4" and [c.score for c in outcome.candidates] == [0.9, None, None]


def test_a_feedback_source_is_refused() -> None:
    with pytest.raises(StrategyError, match="give no feedback source"):
        build_strategy("ptrue", "critic")

"""Likelihood selection call by call: k samples with logprobs, the likeliest kept, no extra call."""

from __future__ import annotations

import pytest

from redraft.api import build_strategy
from redraft.context import Budget
from redraft.models.scripted import ScriptedModel, logprob_reply
from redraft.runs.store import RunStore
from redraft.strategies.base import StrategyError
from redraft.strategies.likelihood import Likelihood
from redraft.tasks.extract import extract_number
from tests.helpers import roles, run_scripted

#: (text, token logprobs): means -1.0, -0.5, -0.6; sums -4.0, -2.0, -1.2.
SAMPLES = [
    ("So it is 5 . The answer is 5.", [-1.0] * 4),
    ("2 + 2 = 4. The answer is 4.", [-0.5] * 4),
    ("The answer is 4.", [-0.6, -0.6]),
]


def model(**kwargs: object) -> ScriptedModel:
    replies = []
    for text, values in SAMPLES:
        reply = logprob_reply(" ".join(text.split()[: len(values)]), values)  # as many words as values
        replies.append(reply.model_copy(update={"text": text}))
    return ScriptedModel(replies, **kwargs)  # type: ignore[arg-type]


def test_the_sample_with_the_highest_mean_token_logprob_wins(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    scripted = model()
    outcome = run_scripted(Likelihood(k=3), scripted, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator"]  # the k samples are one request, nothing else
    assert len(scripted.history) == 3
    assert all(s == {"temperature": 1.0, "logprobs": True, "seed": None} for _, s in scripted.history)
    assert (outcome.text, outcome.answer, outcome.stop_reason) == (SAMPLES[1][0], "4", "ranked")
    assert [c.score for c in outcome.candidates] == [-1.0, -0.5, -0.6]
    assert outcome.candidates[2].metadata == {"index": 2, "tokens": 2, "logprob": -1.2, "mean_logprob": -0.6}


def test_the_sequence_likelihood_prefers_another_sample() -> None:
    outcome = run_scripted(Likelihood(k=3, score="sum"), model(), extract=extract_number)
    assert outcome.text == SAMPLES[2][0] and [c.score for c in outcome.candidates] == pytest.approx(
        [-4.0, -2.0, -1.2]
    )


def test_equal_likelihoods_keep_the_first_sample() -> None:
    outcome = run_scripted(
        Likelihood(k=2), ScriptedModel(["The answer is 5.", "The answer is 4."]), extract=extract_number
    )
    assert outcome.answer == "5"  # the scripted text replies are certain: every mean is 0


def test_a_generator_without_logprobs_is_refused_before_any_call() -> None:
    scripted = model(supports_logprobs=False)
    with pytest.raises(StrategyError, match="reads token logprobs in the 'generator' role"):
        run_scripted(Likelihood(k=3), scripted)
    assert scripted.history == []


def test_drafts_of_a_composed_strategy_are_refused_when_built() -> None:
    with pytest.raises(StrategyError, match="a composed drafter cannot give"):
        build_strategy("direct>likelihood")
    with pytest.raises(StrategyError, match="give no feedback source"):
        build_strategy("likelihood", "critic")


def test_a_call_budget_ranks_the_samples_it_could_pay_for() -> None:
    outcome = run_scripted(Likelihood(k=3), model(), budget=Budget(max_calls=1), extract=extract_number)
    assert outcome.stop_reason == "budget" and [c.text for c in outcome.candidates] == [SAMPLES[0][0]]

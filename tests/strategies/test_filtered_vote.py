"""Critique-filtered voting: k samples, k critiques, a vote over the samples not judged wrong."""

from __future__ import annotations

from redraft.api import build_strategy
from redraft.context import Budget
from redraft.models.base import Message
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.filtered_vote import STEP_CRITIC_PROMPT, FilteredVote
from redraft.strategies.self_consistency import SelfConsistency
from redraft.tasks.arithmetic import MultiArith
from redraft.tasks.extract import extract_number
from redraft.trace import Verdict
from tests.helpers import PROBLEM, roles, run_scripted

SAMPLES = ["2 + 2 = 5. The answer is 5.", "I get 5.", "It is 5.", "2 + 2 = 4. The answer is 4.", "So 4."]


def model(verdicts: dict[str, str]) -> ScriptedModel:
    """Samples in order; each critique answers by the answer of the solution it is shown."""
    samples = list(SAMPLES)

    def reply(messages: list[Message]) -> str:
        prompt = messages[-1]["content"]
        if "Solution:\n" not in prompt:
            return samples.pop(0)
        answer = extract_number(prompt.split("Solution:\n", 1)[1])
        return f"Step 1 is {verdicts[answer or '']}.\n{verdicts[answer or '']}"

    return ScriptedModel(reply)


def test_the_critic_filters_out_a_wrong_majority(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    scripted = model({"5": "VERDICT: incorrect", "4": "VERDICT: correct"})
    outcome = run_scripted(FilteredVote(), scripted, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator"] + ["critic"] * 5  # the k samples are one request
    assert (outcome.answer, outcome.stop_reason, outcome.usage.calls) == ("4", "voted", 10)
    assert [(c.kind, c.verdict) for c in outcome.candidates] == [("sample", Verdict.REVISE)] * 3 + [
        ("sample", Verdict.OK)
    ] * 2
    chosen = outcome.candidates[3]
    assert outcome.text == SAMPLES[3] and chosen.metadata["survivors"] == 2
    assert chosen.metadata["vote"]["counts"] == {"4": 2.0}
    plain = SelfConsistency().select(outcome.candidates)  # self-consistency at k on the same samples
    assert plain is not None and plain.answer == "5"
    sample_calls, critique = scripted.history[:5], scripted.history[5][0][0]["content"]
    assert {s["temperature"] for _, s in sample_calls} == {0.7}
    assert critique == STEP_CRITIC_PROMPT.format(problem=PROBLEM.prompt, candidate=SAMPLES[0])


def test_when_every_sample_is_rejected_all_of_them_vote() -> None:
    outcome = run_scripted(
        FilteredVote(), model({"5": "VERDICT: incorrect", "4": "VERDICT: incorrect"}), extract=extract_number
    )
    assert (outcome.answer, outcome.stop_reason) == ("5", "none_survived")
    assert outcome.candidates[0].metadata["survivors"] == 0


def test_an_unreadable_critique_does_not_reject_its_sample() -> None:
    outcome = run_scripted(
        FilteredVote(k=3), model({"5": "VERDICT: incorrect", "4": "I cannot tell."}), extract=extract_number
    )
    # samples 5, 5, 5 are rejected; with k=3 no 4 was drawn: nothing survives
    assert outcome.stop_reason == "none_survived"
    outcome = run_scripted(
        FilteredVote(k=5), model({"5": "VERDICT: incorrect", "4": "I cannot tell."}), extract=extract_number
    )
    assert (outcome.answer, outcome.stop_reason) == ("4", "voted")
    assert [c.verdict for c in outcome.candidates][3:] == [Verdict.UNKNOWN, Verdict.UNKNOWN]


def test_the_filter_can_be_an_oracle_and_is_labelled_as_one() -> None:
    scripted = ScriptedModel(list(SAMPLES))
    outcome = run_scripted(
        build_strategy("filtered_vote@oracle", task=MultiArith()), scripted, extract=extract_number
    )
    assert (outcome.answer, outcome.oracle, outcome.usage.calls) == ("4", True, 5)


def test_budget_that_pays_only_for_the_samples_gives_their_plain_vote() -> None:
    scripted = model({"5": "VERDICT: incorrect", "4": "VERDICT: correct"})
    outcome = run_scripted(FilteredVote(), scripted, budget=Budget(max_calls=5), extract=extract_number)
    assert (outcome.stop_reason, outcome.answer, len(scripted.history)) == ("budget", "5", 5)

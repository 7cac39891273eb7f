"""critique-filtered voting keeps a sample its critique judged wrong step by step."""

from __future__ import annotations

from redraft.models.base import Message
from redraft.models.scripted import ScriptedModel
from redraft.strategies.filtered_vote import FilteredVote
from redraft.tasks.extract import extract_number
from tests.helpers import run_scripted

SAMPLES = ["2 + 2 = 5. The answer is 5.", "I get 5.", "It is 5.", "2 + 2 = 4. The answer is 4.", "So 4."]


def test_a_step_judged_incorrect_drops_the_sample_even_without_a_verdict_line() -> None:
    """A review found: src/redraft/strategies/filtered_vote.py:49 (`survives`) reads only the final VERDICT
    line, so a critique that judged a step incorrect ("Step 1 is incorrect: ...", the step-wise
    label Critic-CoT filters on and the prompt asks for) but whose verdict line is missing, e.g.
    cut off by max_tokens, counts as "not judged wrong" and the sample votes. METHODS.md (second
    set) says: a critic judges each step ("Step i is correct/incorrect"); drop those judged wrong.
    Here the three wrong samples are each judged "Step 1 is incorrect" with no verdict line, yet
    they survive and out-vote the two right ones. Fix: a critique naming an incorrect step is a
    rejection whatever its last line says (or is missing); only a critique with neither reads as
    unknown."""
    samples = list(SAMPLES)

    def reply(messages: list[Message]) -> str:
        prompt = messages[-1]["content"]
        if "Solution:\n" not in prompt:
            return samples.pop(0)
        if extract_number(prompt.split("Solution:\n", 1)[1]) == "5":
            return "Step 1 is incorrect: 2 + 2 is 4, not 5."  # the verdict line never came
        return "Step 1 is correct.\nVERDICT: correct"

    outcome = run_scripted(FilteredVote(), ScriptedModel(reply), extract=extract_number)
    assert outcome.usage.calls == 10  # k samples and k critiques (holds today)
    assert outcome.answer == "4", "samples judged 'Step 1 is incorrect' survived and out-voted the right ones"

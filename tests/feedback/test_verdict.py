"""The verdict line is read from the end of a critique, not searched for in prose.

The table holds what small models actually write after "End with exactly one line:
"VERDICT: correct" ... or "VERDICT: revise"": the prompt shows the line in quotes, so
models copy the quotes; they bold it, dash it, punctuate it, or say "no change needed".
The negatives must stay UNKNOWN: a critique that re-solves the problem and ends with
an answer names no verdict, and the word "verdict" in prose is not one.
"""

from __future__ import annotations

import pytest

from redraft.feedback.critic import parse_score
from redraft.feedback.verdict import parse_verdict
from redraft.trace import Verdict

OK, REVISE, UNKNOWN = Verdict.OK, Verdict.REVISE, Verdict.UNKNOWN

CASES = [
    # As the prompt spells it, and its plainest variants.
    ("All good.\nVERDICT: correct", OK),
    ("Step 2 is wrong.\nVERDICT: revise", REVISE),
    ("All good.\nVerdict: Correct.", OK),
    ("VERDICT:correct", OK),
    ("VERDICT : REVISE", REVISE),
    ("verdict = incorrect", REVISE),
    # Quoted or back-ticked, as the prompt itself shows the line.
    ('The steps check out.\n"VERDICT: correct"', OK),
    ("The steps check out.\n“VERDICT: correct”", OK),
    ("Fix the sum.\n'VERDICT: revise'.", REVISE),
    ("`VERDICT: correct`", OK),
    ("```\nVERDICT: revise\n```", REVISE),
    # Markdown emphasis, headings, bullets, block quotes.
    ("**VERDICT: correct**", OK),
    ("VERDICT: **revise**", REVISE),
    ("**Verdict:** Correct", OK),
    ("*Verdict*: _revise_", REVISE),
    ("### Verdict: correct", OK),
    ("> VERDICT: revise", REVISE),
    ("- VERDICT: correct", OK),
    # Dashes for the colon, trailing punctuation, placeholder brackets.
    ("Verdict - Correct", OK),
    ("Verdict — revise!", REVISE),
    ("VERDICT: [correct]", OK),
    ("VERDICT: <revise>", REVISE),
    # Phrases and asides.
    ("VERDICT: no change needed", OK),
    ("Verdict: No changes needed.", OK),
    ("VERDICT: correct - no change is needed.", OK),
    ("VERDICT: correct (the arithmetic holds)", OK),
    ("VERDICT: needs revision", REVISE),
    ("VERDICT: not correct", REVISE),
    ("Final verdict: the answer is correct.", OK),
    ("My verdict is: revise", REVISE),
    # The value alone on the line under a bare label.
    ("**Verdict:**\n\nCorrect.", OK),
    ("Verdict:\nrevise", REVISE),
    # Later lines win; chatter after the verdict line is ignored.
    ("VERDICT: correct\nOn second thought...\nVERDICT: revise", REVISE),
    ("VERDICT: correct\n\nHope this helps!", OK),
    # Negatives: no verdict value anywhere.
    ("Let me solve it again. 17 * 23 = 391.\nThe answer is 391.", UNKNOWN),
    ("The answer is correct.", UNKNOWN),  # prose is not a verdict
    ("I will give my verdict after checking step 2.", UNKNOWN),
    ("The verdict depends on whether step 2 holds.", UNKNOWN),
    ("VERDICT: maybe", UNKNOWN),
    ("VERDICT: the answer is 391", UNKNOWN),
    ("VERDICT: correct or revise", UNKNOWN),
    ("VERDICT: correct/revise", UNKNOWN),
    ("Verdict:\nThe answer is 391.", UNKNOWN),
    ("Verdict:", UNKNOWN),
    ('End with exactly one line: "VERDICT: correct" if no change is needed, or "VERDICT: revise" otherwise.',
     UNKNOWN),  # an echo of the instruction offers both values
    ("VERDICT: correct\nThe instruction says: \"VERDICT: correct\" or \"VERDICT: revise\".", OK),
    ("", UNKNOWN),
]


@pytest.mark.parametrize(("text", "verdict"), CASES)
def test_parse_verdict(text: str, verdict: Verdict) -> None:
    assert parse_verdict(text) is verdict


def test_the_table_holds_enough_cases_of_each_kind() -> None:
    kinds = [verdict for _, verdict in CASES]
    assert len(CASES) >= 25
    assert kinds.count(UNKNOWN) >= 10 and kinds.count(OK) >= 10 and kinds.count(REVISE) >= 10


def test_parse_score_reads_the_last_rubric_total() -> None:
    assert parse_score("Clarity: 4/5\nTotal score: 18/25") == pytest.approx(0.72)
    assert parse_score("no score here") is None

"""The verdict line is read from the end of a critique, not searched for in prose."""

from __future__ import annotations

import pytest

from redraft.feedback.critic import parse_score
from redraft.feedback.verdict import parse_verdict
from redraft.trace import Verdict


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        ("All good.\nVERDICT: correct", Verdict.OK),
        ("All good.\nVerdict: Correct.", Verdict.OK),
        ("**VERDICT: correct**", Verdict.OK),
        ("VERDICT: **revise**", Verdict.REVISE),
        ("Step 2 is wrong.\nVERDICT: revise", Verdict.REVISE),
        ("verdict = incorrect", Verdict.REVISE),
        ("VERDICT: correct\nOn second thought...\nVERDICT: revise", Verdict.REVISE),
        ("The answer is correct.", Verdict.UNKNOWN),  # prose is not a verdict
        ("VERDICT: maybe", Verdict.UNKNOWN),
        ("", Verdict.UNKNOWN),
    ],
)
def test_parse_verdict(text: str, verdict: Verdict) -> None:
    assert parse_verdict(text) is verdict


def test_parse_score_reads_the_last_rubric_total() -> None:
    assert parse_score("Clarity: 4/5\nTotal score: 18/25") == pytest.approx(0.72)
    assert parse_score("no score here") is None

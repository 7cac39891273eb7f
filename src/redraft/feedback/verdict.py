"""Reads the explicit verdict line a critic must end with.

Self-Refine stops on the critic's word that no change is needed; reading that
word from a fixed line (not a phrase search over prose) keeps the stop rule
honest and makes an unreadable critique a visible event.
"""

from __future__ import annotations

import re

from redraft.trace import Verdict

VERDICT_LINE = re.compile(r"verdict\s*[:=\-]\s*\**\s*([a-z_ ]+?)\s*\**\s*\.?\s*$", re.IGNORECASE)

WORDS = {
    "correct": Verdict.OK,
    "ok": Verdict.OK,
    "pass": Verdict.OK,
    "no change": Verdict.OK,
    "done": Verdict.OK,
    "revise": Verdict.REVISE,
    "incorrect": Verdict.REVISE,
    "wrong": Verdict.REVISE,
    "fail": Verdict.REVISE,
    "needs revision": Verdict.REVISE,
}


def parse_verdict(text: str) -> Verdict:
    """The verdict of the last `VERDICT: ...` line in `text`, else UNKNOWN."""
    for line in reversed(text.strip().splitlines()):
        match = VERDICT_LINE.search(line.strip())
        if match:
            return WORDS.get(match.group(1).strip().lower(), Verdict.UNKNOWN)
    return Verdict.UNKNOWN

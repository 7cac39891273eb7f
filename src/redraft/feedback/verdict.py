"""Reads the explicit verdict line a critic must end with.

Self-Refine stops on the critic's word that no change is needed; reading that
word from a fixed line (not a phrase search over prose) keeps the stop rule
honest and makes an unreadable critique a visible event.

The line is read the way small models actually write it, not only as the prompt
spells it: quoted or back-ticked (the prompt itself shows it in quotes), in
markdown bold or italics, with a dash for the colon, trailing punctuation, a
phrase ("no change needed"), or the value alone on the line after a bare
"Verdict:". What stays UNKNOWN is anything that names no verdict value: a
critique that re-solves the problem and ends "The answer is X", the word
"verdict" in prose, an echo of the instruction that offers both values.
"""

from __future__ import annotations

import re

from redraft.trace import Verdict

#: The values a verdict line may carry, longest first so "no change needed" wins over "no change".
WORDS = {
    "no changes needed": Verdict.OK,
    "no change needed": Verdict.OK,
    "no changes": Verdict.OK,
    "no change": Verdict.OK,
    "not correct": Verdict.REVISE,
    "needs revision": Verdict.REVISE,
    "needs revising": Verdict.REVISE,
    "needs changes": Verdict.REVISE,
    "incorrect": Verdict.REVISE,
    "correct": Verdict.OK,
    "ok": Verdict.OK,
    "okay": Verdict.OK,
    "pass": Verdict.OK,
    "done": Verdict.OK,
    "revise": Verdict.REVISE,
    "wrong": Verdict.REVISE,
    "fail": Verdict.REVISE,
}
#: Filler a model puts before the value ("VERDICT: the answer is correct").
FILLER = re.compile(r"^(?:the\s+(?:proposed\s+)?(?:answer|solution)\s+is|it\s+is|this\s+is)\s+")
#: Decoration around words: markdown emphasis, code ticks, quotes, brackets a model copies from a placeholder.
DECORATION = re.compile(r"[*_`\"'“”‘’\[\]<>]")
#: "verdict" followed by a separator (colon, equals, any dash, or "is:"); the value follows.
LABEL = re.compile(r"\bverdict(?:\s+is)?\s*[:=\-–—]\s*", re.IGNORECASE)
#: What may follow the value: nothing, or punctuation that starts an aside ("correct - no change needed").
AFTER_VALUE = re.compile(r"^(?:$|[.,;:!?)(\-–—])")


def _clean(text: str) -> str:
    """The words of `text` without markdown, quotes or list/heading/quote markers, lower-cased."""
    text = DECORATION.sub("", text).strip().lower()
    return re.sub(r"^(?:[#>]+|[-•]\s)\s*", "", text).strip()


def read_value(value: str) -> Verdict | None:
    """The verdict a value names ("correct.", "No change needed", "**revise**"), None if it names none."""
    value = FILLER.sub("", _clean(value))
    for phrase in WORDS:
        if value.startswith(phrase) and AFTER_VALUE.match(value[len(phrase):].lstrip()):
            return WORDS[phrase]
    return None


def _line_verdicts(line: str) -> list[str]:
    """The text after each "verdict<sep>" label on one line (a line may repeat the label)."""
    cleaned = DECORATION.sub("", line)
    labels = list(LABEL.finditer(cleaned))
    if not labels:
        return []
    ends = [m.start() for m in labels[1:]] + [len(cleaned)]
    return [cleaned[m.end():end] for m, end in zip(labels, ends, strict=True)]


def parse_verdict(text: str) -> Verdict:
    """The verdict of the last verdict line in `text`, else UNKNOWN.

    A line whose labels name different values (an echoed instruction: '"VERDICT: correct"
    ... or "VERDICT: revise"') is no verdict and is skipped; a last label whose value is
    unreadable ("VERDICT: maybe") is UNKNOWN, not a reason to look further up.
    """
    lines = text.strip().splitlines()
    for index in range(len(lines) - 1, -1, -1):
        values = _line_verdicts(lines[index])
        if not values:
            continue
        if len(values) == 1 and not _clean(values[0]):  # "**Verdict:**" with the value below it
            return _value_below(lines[index + 1:])
        verdicts = {read_value(v) for v in values}
        if len(verdicts) > 1:
            continue
        return verdicts.pop() or Verdict.UNKNOWN
    return Verdict.UNKNOWN


def _value_below(lines: list[str]) -> Verdict:
    """The verdict of the first non-empty line under a bare label, if that line is a value alone."""
    for line in lines:
        if _clean(line):
            return read_value(line) or Verdict.UNKNOWN
    return Verdict.UNKNOWN

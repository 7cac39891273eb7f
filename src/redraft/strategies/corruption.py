"""One wrong step injected into a solution, deterministically: the error of the Self-Correction
Bench probe (`redraft.strategies.injected_error`).

Self-Correction Bench (Tsui 2025) has GPT-4.1 rewrite a reference solution with one mistake; a study
run on the user's own model has no such writer, and a second model choosing the error would make the
result depend on it. So the error is a fixed edit of the model's own solution, the same on every rerun:

1. The reasoning is the text before the first mention of the answer ("answer", "####", "\\boxed"):
   a number in the answer statement is the answer, not a step, and what is shown must not hold it.
2. The corrupted number is the first number of the reasoning whose value is not among the problem's
   numbers (so the solution worked it out, or brought it in) and that is no step label ("1." or "2)"
   opening a line, "Step 3").
3. It becomes its integer part plus one, written as it was (thousands separators and decimals kept):
   74 → 75, 1,999 → 2,000, 2.50 → 3.50. An off-by-one slip, the smallest edit that makes a step wrong.
4. The solution is cut right after the corrupted step: at the first line break or sentence end (".",
   "!" or "?" before whitespace or the end) after the number, or where the reasoning ends if that comes
   first. Trailing whitespace is dropped, so whatever is written next reads as the next word.

No such number: no corruption (None). The caller leaves the problem out; nothing is guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

#: A number as written: digits with optional thousands separators and decimals, not part of a word
#: ("H2O", "12th") nor of a longer number.
NUMBER = re.compile(r"(?<![\w.,])(?P<whole>\d{1,3}(?:,\d{3})+|\d+)(?P<decimals>\.\d+)?(?!\w|[.,]\d)")
#: Where the reasoning ends: the first mention of the answer.
ANSWER = re.compile(r"\banswer\b|####|\\boxed", re.IGNORECASE)
STEP_END = re.compile(r"\n|[.!?](?=\s|$)")
LABEL_AFTER = re.compile(r"[.):](?:\s|$)")


@dataclass(frozen=True)
class Corruption:
    """What was changed: the number as written, what replaced it, where, and the solution up to the
    end of the corrupted step with the replacement in it (what the model is shown)."""

    original: str
    injected: str
    position: int
    prefix: str


def value(match: re.Match[str]) -> Fraction:
    return Fraction(match["whole"].replace(",", "") + (match["decimals"] or ""))


def off_by_one(match: re.Match[str]) -> str:
    """The integer part plus one, in the number's own format."""
    whole = int(match["whole"].replace(",", "")) + 1
    written = f"{whole:,}" if "," in match["whole"] else str(whole)
    return written + (match["decimals"] or "")


def is_label(text: str, match: re.Match[str]) -> bool:
    """A step or list label: "1." / "2)" / "3:" opening a line, or a number after "Step"."""
    line_start = text.rfind("\n", 0, match.start()) + 1
    before = text[line_start : match.start()].strip(" \t*#>-").lower()
    if before.endswith("step"):
        return True
    return before == "" and LABEL_AFTER.match(text, match.end()) is not None


def corrupt(solution: str, problem_text: str) -> Corruption | None:
    """The off-by-one corruption of `solution`'s first worked-out number, cut after its step; None
    when the reasoning has no number that is not in `problem_text` (see the module's rule)."""
    given = {value(m) for m in NUMBER.finditer(problem_text)}
    answer = ANSWER.search(solution)
    reasoning_end = answer.start() if answer else len(solution)
    for match in NUMBER.finditer(solution, 0, reasoning_end):
        if value(match) in given or is_label(solution, match):
            continue
        step_end = STEP_END.search(solution, match.end(), reasoning_end)
        end = reasoning_end if step_end is None else step_end.start() + (step_end.group() != "\n")
        injected = off_by_one(match)
        prefix = (solution[: match.start()] + injected + solution[match.end() : end]).rstrip()
        return Corruption(original=match.group(), injected=injected, position=match.start(), prefix=prefix)
    return None

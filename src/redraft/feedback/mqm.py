"""MQM-style error annotation of a translation (TEaR's estimate step), as a feedback source.

One line per error, "major/accuracy: "span" — why", or the single line "No errors.".
The score is the MQM penalty (critical -25, major -5, minor -1, as in GEMBA-MQM);
an annotation with neither form is `unknown`, not "no errors".
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from redraft.feedback.base import Source
from redraft.feedback.registry import register
from redraft.tasks.base import Problem
from redraft.trace import Feedback, Verdict

if TYPE_CHECKING:
    from redraft.context import Context

ESTIMATE_PROMPT = """\
Annotate the errors in this translation, MQM style.

Translation request:
{problem}

Translation:
{translation}

Categories: accuracy (addition, mistranslation, omission, untranslated text), fluency (grammar, \
punctuation, spelling, register, inconsistency), terminology, style (awkward), locale convention, other.
Severity: critical (inhibits comprehension), major (disrupts the flow, but the meaning is still \
understandable), minor (technically an error, but does not hinder comprehension).
Write one line per error, in the form
severity/category: "error span" — explanation
If there are no errors, write only the line: No errors.{example}"""

EXAMPLE = """

Example. Request: Translate into English: "Der Zug hatte zwei Stunden Verspätung, sagte sie."
Translation: "The train was two minutes late, she say."
Annotation:
major/accuracy: "two minutes" — mistranslation of "zwei Stunden" (two hours)
minor/fluency: "she say" — grammar, should be "she said\""""

PENALTY = {"critical": 25.0, "major": 5.0, "minor": 1.0}
ERROR_LINE = re.compile(
    r"^(?:\W|\d+[.)])*(critical|major|minor)\s*/\s*([a-z][\w \-]*?)\s*[*_`]*\s*:\s*(.*)$", re.IGNORECASE
)
NO_ERRORS = re.compile(r"^\W*no errors?\W*$", re.IGNORECASE)

class MQMError(BaseModel):
    severity: str
    category: str
    description: str


def parse_mqm(text: str) -> list[MQMError] | None:
    """The annotated errors; [] for an explicit "No errors."; None when the text is neither."""
    errors = [MQMError(severity=m[1].lower(), category=m[2].strip().lower(), description=m[3].strip())
              for line in text.splitlines() if (m := ERROR_LINE.match(line.strip()))]
    if errors:
        return errors
    return [] if any(NO_ERRORS.match(line.strip()) for line in text.splitlines()) else None


def mqm_feedback(text: str) -> Feedback:
    """Verdict and MQM penalty of an annotation (0 for no errors, None when unparseable)."""
    errors = parse_mqm(text)
    if errors is None:
        return Feedback(verdict=Verdict.UNKNOWN, text=text.strip())
    score = -sum(PENALTY[e.severity] for e in errors)
    return Feedback(verdict=Verdict.REVISE if errors else Verdict.OK, text=text.strip(), score=score)


@register
class MQMFeedback(Source):
    """The same model (role `critic`) annotates MQM errors in a translation."""

    name = "mqm"
    description = "MQM error annotation of a translation; score = -penalty (TEaR)"
    roles = ("critic",)

    class Params(BaseModel):
        few_shot: bool = Field(False, description="show one example annotation in the prompt")

    def __init__(self, few_shot: bool = False) -> None:
        self.few_shot = few_shot

    async def judge(self, problem: Problem, candidate: str, ctx: Context) -> Feedback:
        prompt = ESTIMATE_PROMPT.format(problem=problem.prompt, translation=candidate,
                                        example=EXAMPLE if self.few_shot else "")
        return mqm_feedback(await ctx.ask("critic", prompt))



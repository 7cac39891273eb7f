"""ART's asker as a feedback source: subquestions, and does the candidate answer them all?

An asker that cannot be read (no "ALL ANSWERED: yes|no" line) gives `unknown`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from redraft.feedback.base import Source
from redraft.feedback.registry import register
from redraft.tasks.base import Problem
from redraft.trace import Feedback, Verdict

if TYPE_CHECKING:
    from redraft.context import Context

ASK_PROMPT = """\
Break the problem below into the subquestions that must be answered to solve it, one per line, \
numbered. After each subquestion, say whether the proposed solution answers it (answered / not answered).
End with exactly one line: "ALL ANSWERED: yes" if the solution answers every subquestion, or \
"ALL ANSWERED: no" otherwise.

Problem:
{problem}

Proposed solution:
{draft}"""

ALL_ANSWERED = re.compile(r"all answered\s*[:=\-]\s*[*_]*\s*(yes|no)\b", re.IGNORECASE)

def last_match(pattern: re.Pattern[str], text: str) -> str | None:
    """The group of the last match of `pattern` in `text` (lowercased), or None."""
    matches = pattern.findall(text)
    return matches[-1].lower() if matches else None


@register
class AskerFeedback(Source):
    """The asker: subquestions for the problem, and whether the candidate answers them all."""

    name = "asker"
    description = "subquestions: does the candidate answer them all? (ART)"
    roles = ("asker",)

    async def judge(self, problem: Problem, candidate: str, ctx: Context) -> Feedback:
        prompt = ASK_PROMPT.format(problem=problem.prompt, draft=candidate)
        text = await ctx.ask("asker", prompt)
        verdict = {"yes": Verdict.OK, "no": Verdict.REVISE}.get(last_match(ALL_ANSWERED, text) or "")
        return Feedback(verdict=verdict or Verdict.UNKNOWN, text=text.strip())



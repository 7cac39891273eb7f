"""An LLM critique: the model itself, or a stronger one in the `critic` role.

Small models need strong verifiers, so the critic role can be bound to a
different model than the generator (`--critic-model`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from redraft.feedback.base import Source
from redraft.feedback.registry import register
from redraft.feedback.verdict import parse_verdict
from redraft.roles import check_role
from redraft.tasks.base import Problem
from redraft.trace import Feedback

if TYPE_CHECKING:
    from redraft.context import Context

CRITIC_PROMPT = """\
Review the proposed answer to the problem below, step by step. Point out every error, \
gap or unclear step and say concretely how to fix it. If the answer is fully correct \
and needs no change, say so.
End with exactly one line: "VERDICT: correct" if no change is needed, or \
"VERDICT: revise" otherwise.

Problem:
{problem}

Proposed answer:
{candidate}"""

SCORE_LINE = re.compile(r"score\s*[:=]\s*(-?\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)", re.IGNORECASE)


def parse_score(text: str) -> float | None:
    """A rubric score such as "Total score: 18/25", as a fraction in [0, 1]."""
    matches = SCORE_LINE.findall(text)
    if not matches:
        return None
    value, scale = (float(x) for x in matches[-1])
    return value / scale if scale else None


@register
class CriticFeedback(Source):
    """Asks the `critic` role (or another judging role) for a critique ending in a verdict line."""

    name = "critic"
    description = "an LLM critique ending in VERDICT: correct|revise"
    roles = ("critic",)

    class Params(BaseModel):
        role: str = Field("critic", description="the judging role the critique is asked in")

    def __init__(self, template: str = CRITIC_PROMPT, *, role: str = "critic") -> None:
        self.template = template
        self.role = check_role(role)
        self.roles = (role,)

    async def judge(self, problem: Problem, candidate: str, ctx: Context) -> Feedback:
        prompt = self.template.format(problem=problem.prompt, candidate=candidate)
        completion = await ctx.ask(self.role, prompt)
        return Feedback(
            verdict=parse_verdict(completion),
            text=completion.strip(),
            score=parse_score(completion),
        )

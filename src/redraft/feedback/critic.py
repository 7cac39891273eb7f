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
from redraft.models.base import Message
from redraft.roles import check_role
from redraft.tasks.base import Problem
from redraft.trace import Feedback, Verdict

if TYPE_CHECKING:
    from redraft.context import Context

REVIEW_INSTRUCTION = """\
Review the proposed answer to the problem below, step by step. Point out every error, \
gap or unclear step and say concretely how to fix it. If the answer is fully correct \
and needs no change, say so.
"""
#: Asked of a scored critic (`critic[scored=true]`) before its verdict line; `parse_score` reads it.
SCORE_INSTRUCTION = """\
Then rate the answer on one line "Score: N/10" (10: fully correct and complete, 0: entirely wrong).
"""
VERDICT_INSTRUCTION = """\
End with exactly one line: "VERDICT: correct" if no change is needed, or \
"VERDICT: revise" otherwise."""
QUOTED = """

Problem:
{problem}

Proposed answer:
{candidate}"""

CRITIC_PROMPT = REVIEW_INSTRUCTION + VERDICT_INSTRUCTION + QUOTED
SCORED_CRITIC_PROMPT = REVIEW_INSTRUCTION + SCORE_INSTRUCTION + VERDICT_INSTRUCTION + QUOTED

#: The critique asked as the next turn of the generator's own conversation (`judge_conversation`):
#: the critic shares the generator's context, every earlier attempt and feedback in view.
CONVERSATION_REVIEW = """\
Review the latest answer above to the problem, step by step. Point out every error, \
gap or unclear step and say concretely how to fix it. If the answer is fully correct \
and needs no change, say so.
"""

#: Asked after a critique whose verdict line did not parse, on a model that can constrain its reply.
VERDICT_QUESTION = """\
Based on your review, is the proposed answer fully correct (no change needed)? \
Reply with exactly one line: "VERDICT: correct" or "VERDICT: revise"."""
VERDICT_CHOICES = ["VERDICT: correct", "VERDICT: revise"]

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
    """Asks the `critic` role (or another judging role) for a critique ending in a verdict line.

    Scored (`critic[scored=true]`), the critique also rates the answer "Score: N/10" before its
    verdict, read as a fraction into the feedback's score (what `reward_hacking` compares across
    rounds). A strategy whose critic shares the generator's context asks it with
    `judge_conversation` instead of `judge`: the same review, as the next turn of that conversation.
    """

    name = "critic"
    description = "an LLM critique ending in VERDICT: correct|revise (scored=true: and Score: N/10)"
    roles = ("critic",)

    class Params(BaseModel):
        role: str = Field("critic", description="the judging role the critique is asked in")
        structured: bool = Field(
            True, description="ask a constrained verdict line when the critique's does not parse "
            "(models that support `choices` only)")
        scored: bool = Field(False, description="also ask for a \"Score: N/10\" line (the feedback's score)")

    def __init__(
        self, template: str | None = None, *, role: str = "critic", structured: bool = True,
        scored: bool = False,
    ) -> None:
        self.template = template or (SCORED_CRITIC_PROMPT if scored else CRITIC_PROMPT)
        self.scored = scored
        self.structured = structured
        self.role = check_role(role)
        self.roles = (role,)

    async def judge(self, problem: Problem, candidate: str, ctx: Context) -> Feedback:
        prompt = self.template.format(problem=problem.prompt, candidate=candidate)
        return await self._critique([{"role": "user", "content": prompt}], ctx)

    async def judge_conversation(self, conversation: list[Message], ctx: Context) -> Feedback:
        """The critique asked as the next user turn of `conversation` (the generator's own, ending
        with the answer under review), so the critic sees every earlier attempt and its feedback."""
        review = CONVERSATION_REVIEW + (SCORE_INSTRUCTION if self.scored else "") + VERDICT_INSTRUCTION
        return await self._critique([*conversation, {"role": "user", "content": review}], ctx)

    async def _critique(self, messages: list[Message], ctx: Context) -> Feedback:
        completion = (await ctx.complete(self.role, messages)).text
        text = completion.strip()
        verdict = parse_verdict(completion)
        if verdict is Verdict.UNKNOWN and self.structured and ctx.model_for(self.role).supports_choices:
            line = await self._constrained_verdict(messages, completion, ctx)
            verdict = parse_verdict(line)
            text = f"{text}\n{line.strip()}"
        return Feedback(verdict=verdict, text=text, score=parse_score(completion))

    async def _constrained_verdict(self, asked: list[Message], critique: str, ctx: Context) -> str:
        """The verdict line asked again, constrained to its two values, in the same conversation.

        Only when the free-text critique's line did not parse: the critique stays free text
        (constraining all of it was slow and still broke the JSON on a 135M model), and this
        one-line follow-up is a traced call in the same role, counted in the budget.
        """
        messages: list[Message] = [
            *asked,
            {"role": "assistant", "content": critique},
            {"role": "user", "content": VERDICT_QUESTION},
        ]
        return (await ctx.complete(self.role, messages, choices=VERDICT_CHOICES)).text

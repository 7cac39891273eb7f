"""Self-Debugging (Chen et al. 2023; Olausson et al. 2023): run the visible tests, show the model, fix.

    y0 = M(generate | x)
    r0 = run the visible tests on y0          (execution costs no model call)
    for t in 1..T while r_{t-1} fails:
        fb = simple       "The code above is wrong. Please fix it."  (pass/fail only)
             unit_test    the failing tests with their actual output or error
             explanation  unit_test, then e = M(explain y_{t-1} line by line | fb)  ("rubber duck")
        y_t = M(fix | the conversation so far, fb [, e]);  r_t = run the tests on y_t
    final = the last y that passes the visible tests, else the last y

The conversation keeps every attempt and its feedback, as in the paper's
multi-turn debugging; each fix records the feedback it was shown (and the
explanation) in its metadata. A verdict of UNKNOWN (the problem has no visible
tests) is recorded and ends the loop with the draft: repair without an
execution signal is the blind loop Olausson et al. find loses to plain
resampling, so it is not attempted.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from redraft.context import Context
from redraft.feedback.tests import TestsFeedback
from redraft.models.base import Message
from redraft.strategies.base import Final, Strategy
from redraft.strategies.registry import register
from redraft.tasks.base import Problem
from redraft.trace import Candidate, Feedback, Verdict

SIMPLE_FEEDBACK = "The code above is wrong. Please fix it."
FIX_INSTRUCTION = """\
Fix the code so that it passes the tests. Reply with the complete corrected \
function (including its imports) in a single ```python code block."""
EXPLAIN_INSTRUCTION = """\
Before fixing anything, explain the code above line by line: what each line does \
and what values it produces on a failing test. Then say which line is wrong and \
why. Do not write the corrected code yet."""
FIX_AFTER_EXPLANATION = """\
Based on your explanation and the test results, fix the code. Reply with the \
complete corrected function (including its imports) in a single ```python code block."""

FeedbackKind = Literal["simple", "unit_test", "explanation"]
#: Verdicts that end the loop: the tests pass, or there is no execution signal to debug from.
STOPS = {Verdict.OK: "tests_passed", Verdict.UNKNOWN: "unknown_verdict"}


def shown_feedback(kind: FeedbackKind, judgement: Feedback) -> str:
    """What the model is told about a failing attempt: pass/fail only, or the failing tests."""
    return SIMPLE_FEEDBACK if kind == "simple" else judgement.text


@register
class SelfDebug(Strategy):
    name = "self_debug"
    paper = ("Teaching Large Language Models to Self-Debug (Chen et al., 2023); "
             "Is Self-Repair a Silver Bullet for Code Generation? (Olausson et al., 2023)")
    summary = "run the visible tests, feed back failures (optionally with a self-explanation), fix"
    roles = ("generator", "explainer", "refiner")

    class Params(BaseModel):
        feedback_kind: FeedbackKind = Field(
            "unit_test", description="simple: pass/fail only; unit_test: failing tests with actual "
            "output; explanation: unit_test plus a line-by-line self-explanation before fixing",
        )
        max_rounds: int = Field(
            3, ge=0, description="debugging turns after the draft (Chen et al. cap at 10, most fixes "
            "come early; Olausson et al.: extra repair rounds lose to extra samples at equal budget)",
        )

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        tests = self.feedback or TestsFeedback()
        kind = self.params.feedback_kind
        candidate = ctx.record(round=0, kind="draft", text=await ctx.first_draft(problem))
        judgement = await ctx.judge(tests, problem, candidate)
        conversation: list[Message] = [{"role": "user", "content": problem.prompt}]
        for round_number in range(1, self.params.max_rounds + 1):
            if judgement.verdict in STOPS:
                break
            conversation.append({"role": "assistant", "content": candidate.text})
            feedback = shown_feedback(kind, judgement)
            metadata: dict[str, str] = {"feedback_shown": feedback}
            if kind == "explanation":
                conversation.append({"role": "user", "content": f"{feedback}\n\n{EXPLAIN_INSTRUCTION}"})
                explanation = await ctx.complete("explainer", conversation)
                metadata["explanation"] = explanation.text
                conversation.append({"role": "assistant", "content": explanation.text})
                conversation.append({"role": "user", "content": FIX_AFTER_EXPLANATION})
            else:
                conversation.append({"role": "user", "content": f"{feedback}\n\n{FIX_INSTRUCTION}"})
            fixed = await ctx.complete("refiner", conversation)
            candidate = ctx.record(round=round_number, kind="refine", text=fixed.text,
                                   parent=candidate.seq, metadata=metadata)
            judgement = await ctx.judge(tests, problem, candidate)
        return Final(candidate=self.select(ctx.candidates),
                     stop_reason=STOPS.get(judgement.verdict, "max_rounds"))

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The last candidate that passed the visible tests, else the last one."""
        passed = [c for c in candidates if c.verdict is Verdict.OK]
        return passed[-1] if passed else (candidates[-1] if candidates else None)

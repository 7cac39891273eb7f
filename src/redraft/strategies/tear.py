"""TEaR, Translate, Estimate and Refine (Feng et al. 2024): MQM self-annotation drives the redraft.

    y0 = M(x)                                  # x: the translation request as the user wrote it
    e  = M(estimate | x, y0)                   # MQM errors: {critical, major, minor} x category
    if e says "No errors.": final = y0
    else: y1 = M(refine | x, y0, e); final = y1

The estimate is a feedback source (`MQMFeedback`): one line per error, "major/accuracy: "span" —
why", or the single line "No errors.". Its score is the MQM penalty (critical -25, major -5,
minor -1, as in GEMBA-MQM), recorded on the draft. An estimate with neither is `unknown`: by
default the refiner still gets the raw text (`on_unknown="refine"`), or the draft is kept.

Variants: `zero_shot` (default); `few_shot` (one example annotation in the estimate prompt);
`no_error_info` (control: errors decide *whether* to refine, but the refiner is only told to
improve); `one_call` (one call writes the errors, then the refined translation after a marker).
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from redraft.context import Context
from redraft.feedback.base import FeedbackSource
from redraft.feedback.mqm import ESTIMATE_PROMPT, MQMFeedback, mqm_feedback, parse_mqm
from redraft.strategies.base import Final, Strategy, StrategyError
from redraft.strategies.registry import register
from redraft.tasks.base import Problem
from redraft.trace import Candidate, Verdict

ONE_CALL_SUFFIX = """

After the annotation, write the line "Refined translation:" followed by the corrected translation \
(the translation unchanged if there are no errors)."""

REFINE_PROMPT = """\
Translation request:
{problem}

Your translation:
{translation}

An annotation found these errors in it:
{errors}

First locate each error span in the translation, understand its nature and fix it. Then, as a \
native speaker of the target language, make sure the result is fluent and faithful to the source. \
Reply with the corrected translation only."""

IMPROVE_PROMPT = """\
Translation request:
{problem}

Your translation:
{translation}

Improve this translation. Reply with the improved translation only."""

REFINED_MARKER = re.compile(r"refined translation\s*[*_]*\s*:\s*[*_]*", re.IGNORECASE)


@register
class Tear(Strategy):
    name = "tear"
    paper = ("TEaR: Improving LLM-based Machine Translation with Systematic Self-Correction "
             "(Feng et al., 2024)")
    summary = "translate, annotate MQM errors, refine with the error list unless there are none"
    roles = ("generator", "critic", "refiner")

    class Params(BaseModel):
        variant: Literal["zero_shot", "few_shot", "no_error_info", "one_call"] = Field(
            "zero_shot", description="estimate prompt and refine setup"
        )
        on_unknown: Literal["refine", "keep"] = Field(
            "refine", description="what an unparseable estimate means"
        )

    def __init__(self, feedback: FeedbackSource | None = None, **params: Any) -> None:
        super().__init__(feedback, **params)
        if feedback is not None and self.params.variant in ("few_shot", "one_call"):
            raise StrategyError(f"tear variant {self.params.variant!r} uses its own MQM estimate; "
                                "give no feedback source, or use zero_shot / no_error_info")

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        draft = ctx.record(round=0, kind="draft", text=await ctx.first_draft(problem))
        variant = self.params.variant
        refined: str | None = None
        if variant == "one_call":
            prompt = ESTIMATE_PROMPT.format(problem=problem.prompt, translation=draft.text, example="")
            prompt += ONE_CALL_SUFFIX
            reply = await ctx.ask("refiner", prompt)
            *head, tail = REFINED_MARKER.split(reply)
            judgement = mqm_feedback("".join(head) if head else reply)
            refined = tail.strip() if head else None
        else:
            judgement = await (self.feedback or MQMFeedback(few_shot=variant == "few_shot")).judge(
                problem, draft.text, ctx)
        if self.feedback is None:  # the MQM estimate: keep its errors as data, not only as text
            errors = parse_mqm(judgement.text)
            draft.metadata["mqm_errors"] = None if errors is None else [e.model_dump() for e in errors]
        ctx.annotate(draft, judgement)
        if judgement.verdict is Verdict.OK:
            return Final(candidate=draft, stop_reason="no_errors")
        if judgement.verdict is Verdict.UNKNOWN and self.params.on_unknown == "keep":
            return Final(candidate=draft, stop_reason="unparsed_estimate")
        if variant == "one_call":
            if not refined:
                return Final(candidate=draft, stop_reason="unparsed_refinement")
        else:
            template = IMPROVE_PROMPT if variant == "no_error_info" else REFINE_PROMPT
            prompt = template.format(problem=problem.prompt, translation=draft.text, errors=judgement.text)
            refined = await ctx.ask("refiner", prompt)
        ctx.record(round=1, kind="refine", text=refined, parent=draft.seq, metadata={"variant": variant})
        return Final(candidate=self.select(ctx.candidates), stop_reason="refined")

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The refinement when there is one, else the draft: the paper keeps what it refined."""
        return candidates[-1] if candidates else None

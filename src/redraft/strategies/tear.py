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

from redraft.feedback.base import Feedback, FeedbackSource, Verdict
from redraft.strategies.base import Final, Strategy, StrategyError, register
from redraft.strategies.context import Candidate, Context
from redraft.tasks.base import Problem

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

PENALTY = {"critical": 25.0, "major": 5.0, "minor": 1.0}
ERROR_LINE = re.compile(
    r"^(?:\W|\d+[.)])*(critical|major|minor)\s*/\s*([a-z][\w \-]*?)\s*[*_`]*\s*:\s*(.*)$", re.IGNORECASE
)
NO_ERRORS = re.compile(r"^\W*no errors?\W*$", re.IGNORECASE)
REFINED_MARKER = re.compile(r"refined translation\s*[*_]*\s*:\s*[*_]*", re.IGNORECASE)


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


class MQMFeedback:
    """The same model (role `critic`) annotates MQM errors in a translation."""

    name = "mqm"
    oracle = False

    def __init__(self, few_shot: bool = False) -> None:
        self.few_shot = few_shot

    async def judge(self, problem: Problem, candidate: str, ctx: Context) -> Feedback:
        prompt = ESTIMATE_PROMPT.format(problem=problem.prompt, translation=candidate,
                                        example=EXAMPLE if self.few_shot else "")
        return mqm_feedback(await ctx.ask("critic", prompt))


@register
class Tear(Strategy):
    name = "tear"
    paper = ("TEaR: Improving LLM-based Machine Translation with Systematic Self-Correction "
             "(Feng et al., 2024)")
    summary = "translate, annotate MQM errors, refine with the error list unless there are none"

    class Params(BaseModel):
        variant: Literal["zero_shot", "few_shot", "no_error_info", "one_call"] = Field(
            "zero_shot", description="estimate prompt and refine setup"
        )
        on_unknown: Literal["refine", "keep"] = Field(
            "refine", description="what an unparseable estimate means"
        )

    def __init__(self, feedback: FeedbackSource | None = None, *, drafter: Strategy | None = None,
                 **params: Any) -> None:
        super().__init__(feedback, drafter=drafter, **params)
        if feedback is not None and self.params.variant in ("few_shot", "one_call"):
            raise StrategyError(f"tear variant {self.params.variant!r} uses its own MQM estimate; "
                                "give no feedback source, or use zero_shot / no_error_info")

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        draft = ctx.record(round=0, kind="draft", text=await ctx.draft(problem))
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

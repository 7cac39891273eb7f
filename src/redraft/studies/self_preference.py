"""`self_preference`: LLM Evaluators Recognize and Favor Their Own Generations (Panickssery, Bowman &
Feng, 2024).

The paper's self-preference is a judge scoring its own outputs above others' *where human annotators
rate them as equal in quality*. Here the quality is the reference's: the claim is measured on the
problems where both answers are equally correct (both right or both wrong), and the raw preference,
over every problem, is reported beside it.

Protocol, one evaluation of the diagnostic `pairwise_preference` (see its module):

    for each problem x:
        a = M(x); b = M_other(x)                   # the generator's answer, the other model's
        j1 = M(compare | 1: a, 2: b); j2 = M(compare | 1: b, 2: a)   # the judge is M, both orders
        s_x = 1 if M prefers a in both orders, 0 if b in both, 1/2 on a split
    P(prefers own | equal correctness) = mean of s_x over problems with right(a) = right(b)

The other model is the one bound to the `other` role (`--role other=MODEL[@BASE_URL]`); without
one, or with the generator's own model and endpoint bound again, there is nothing to compare and the
study refuses with a UsageError before any call. Answers are scored by the evaluation (both are
recorded as samples), and the judgments read back from the generator answer's metadata.

Claim `prefers_own`: P(prefers own | equal correctness) > 0.5. A split (the judge picks the same
position in both orders) is half a preference each way, as averaging the two orders in the paper
does; the interval is Wilson's on (wins + splits/2) out of the problems (conservative for an outcome
in {0, 1/2, 1}: its variance is at most a Bernoulli's); p is the sign test of wins against losses
(splits prefer neither). A problem with an unparseable judgment in either order is left out (one
order alone carries its position bias) and counted.

Details: wins, losses and splits; the same preference over every problem (not controlled for
quality, shown as a second row) and where only one answer is right; position bias (the share of
judgments naming the answer shown first); both models' accuracy and the paired accuracy gap. The
correctness that conditions the claim is the reference's: oracle labels, used only to measure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from redraft.errors import UsageError
from redraft.runs.eval_store import ItemResult
from redraft.runs.paired import mcnemar_exact, wilson_interval
from redraft.studies.base import (
    Claim,
    Measured,
    Study,
    StudyContext,
    StudyResult,
    finding,
    paired_effect,
)
from redraft.studies.registry import register

SPEC = "pairwise_preference"
CITATION = (
    "Panickssery, Bowman & Feng 2024, LLM Evaluators Recognize and Favor Their Own Generations (NeurIPS 2024)"
)
NO_OTHER = (
    "self_preference compares the generator's answers with another model's: bind one with --role "
    "other=MODEL[@BASE_URL] (a model other than the generator's own)"
)
SCORE = {"generator": 1.0, "other": 0.0, "split": 0.5}


@dataclass(frozen=True)
class Compared:
    """One problem: whether each answer is right, and the judge's preference (None: unparseable)."""

    own_right: bool
    other_right: bool
    preference: str  # "generator", "other", "split" or "unparseable"
    choices: tuple[int | None, ...]  # the position named in each order (1 = shown first)

    @property
    def parsed(self) -> bool:
        return self.preference != "unparseable"

    @property
    def equal(self) -> bool:
        return self.own_right == self.other_right


@register
class SelfPreference(Study):
    name = "self_preference"
    paper = CITATION
    summary = (
        "the generator judges its own answer against another model's (--role other=...), both orders, "
        "where both are equally correct"
    )
    strategies = (SPEC,)
    claims = (
        Claim(
            id="prefers_own",
            text="the judge prefers its own answer beyond quality",
            effect="P(judge prefers its own answer | both equally correct)",
            direction=">",
            threshold=0.5,
            paper_figure="GPT-4, GPT-3.5 and Llama 2 judges prefer their own summaries (XSUM, "
            "CNN/DailyMail) over others' rated equal by humans, pairwise over both orders; "
            "self-preference rises linearly with self-recognition (GPT-4 tells its own "
            "summaries apart about 73% of the time out of the box) (from memory and "
            "secondary summaries, to check)",
            citation="Panickssery et al. 2024, abstract and pairwise results",
        ),
    )

    async def run(self, context: StudyContext) -> StudyResult:
        if not context.bound("other"):
            raise UsageError(NO_OTHER)
        done = await context.evaluate([SPEC])
        compared = [compared_item(context, item) for item in done.items[SPEC]]
        other = context.describe("other")
        claim = self.claim("prefers_own")
        equal = [c for c in compared if c.equal]
        details = study_details(compared, other)
        headline = finding(
            claim,
            f"equally correct (own vs {other})",
            preference_rate(equal),
            **preference_details(equal),
            **details,
        )
        raw = finding(
            claim,
            "every problem (not controlled for quality)",
            preference_rate(compared),
            headline=False,
            **preference_details(compared),
        )
        notes = [
            f"judge: the generator itself; other answers: {other}; eval {done.eval_id}",
            "quality control: 'equally correct' is by the reference answers (oracle labels, used only to "
            "measure); the raw row counts every problem, where the better answer may deserve the preference",
            f"position bias: the judge named the answer shown first in "
            f"{fraction(details['position_bias'])} of its readable judgments",
        ]
        if details["unparseable_judgments"]:
            notes.append(
                f"{details['unparseable_judgments']} of {details['judgments']} judgments named "
                f"neither answer: their {details['problems_unparseable']} problems are left out"
            )
        return self.result(context, [headline, raw], notes)


def compared_item(context: StudyContext, item: ItemResult) -> Compared:
    """One item's two answers (correctness from the item's scored samples) and the judgments the
    generator's answer carries."""
    samples = [c for c in context.candidates(item) if c.stage is None and c.kind == "sample"]
    right = {
        c.metadata["author"]: bool(record.get("correct"))
        for record, c in zip(item.samples, samples, strict=True)
    }
    own = next(c for c in samples if c.metadata["author"] == "generator")
    return Compared(
        own_right=right["generator"],
        other_right=right["other"],
        preference=own.metadata["preference"],
        choices=tuple(j["choice"] for j in own.metadata["judgments"]),
    )


def preference_rate(compared: list[Compared]) -> Measured:
    """P(prefers own) over the parsed problems, splits half, with Wilson's interval and the sign test."""
    scores = [SCORE[c.preference] for c in compared if c.parsed]
    n = len(scores)
    if n == 0:
        return Measured(effect=None, ci_low=None, ci_high=None, n=0, p_value=None, sd=None)
    mean = sum(scores) / n
    low, high = wilson_interval(sum(scores), n)
    return Measured(
        effect=mean,
        ci_low=low,
        ci_high=high,
        n=n,
        p_value=mcnemar_exact(scores.count(1.0), scores.count(0.0)),
        sd=math.sqrt(max(0.0, sum(s * s for s in scores) / n - mean * mean)),
    )


def preference_details(compared: list[Compared]) -> dict[str, Any]:
    parsed = [c for c in compared if c.parsed]
    return {
        "problems": len(compared),
        "compared": len(parsed),
        "wins": sum(c.preference == "generator" for c in parsed),
        "losses": sum(c.preference == "other" for c in parsed),
        "splits": sum(c.preference == "split" for c in parsed),
        "both_right": sum(c.own_right and c.other_right for c in parsed),
        "both_wrong": sum(not c.own_right and not c.other_right for c in parsed),
    }


def study_details(compared: list[Compared], other: str) -> dict[str, Any]:
    """What the whole evaluation says beside the claim: judgments, position bias, both accuracies."""
    choices = [choice for c in compared for choice in c.choices]
    readable = [choice for choice in choices if choice is not None]
    own_better = [c for c in compared if c.own_right and not c.other_right]
    other_better = [c for c in compared if c.other_right and not c.own_right]
    gap = paired_effect([c.own_right for c in compared], [c.other_right for c in compared])
    return {
        "other": other,
        "judgments": len(choices),
        "unparseable_judgments": len(choices) - len(readable),
        "problems_unparseable": sum(not c.parsed for c in compared),
        "position_bias": sum(choice == 1 for choice in readable) / len(readable) if readable else None,
        "prefers_own_when_only_own_right": preference_rate(own_better).effect,
        "prefers_own_when_only_other_right": preference_rate(other_better).effect,
        "own_accuracy": sum(c.own_right for c in compared) / len(compared) if compared else None,
        "other_accuracy": sum(c.other_right for c in compared) / len(compared) if compared else None,
        "accuracy_gap": gap.effect,
        "accuracy_gap_ci": [gap.ci_low, gap.ci_high],
    }


def fraction(value: float | None) -> str:
    return "none" if value is None else f"{value:.0%}"

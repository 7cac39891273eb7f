"""`flips`: does self-correction break more right answers than it fixes? (the IoRT analysis)

Protocol, one evaluation of two intrinsic refiners on the same problems, two rounds each:
`self_refine[max_rounds=2]` (the model critiques itself with a VERDICT line and may stop) and
`critical[max_rounds=2]` (Huang et al.'s review/improve prompts, every round runs). Both start
from the same first draft (one request, then the cache when it is on).

Per strategy, first answer → final answer over every problem (the headline), and per round
r−1 → r over the problems still being revised in round r (`n_base`): wrong→right and right→wrong
counts and shares, CL = P(right after | right before), CS = P(right after | wrong before).

Claim `right_to_wrong_ge_wrong_to_right`: P(right→wrong) − P(wrong→right) ≥ 0, i.e. accuracy
before minus accuracy after, paired per problem (IoRT: c→i 7.1% > i→c 5.1% on GSM8K, GPT-3.5).
"""

from __future__ import annotations

from typing import Any

from redraft.report.figures import BarFigure, Bars, Category, Figure
from redraft.runs.eval_store import ItemResult
from redraft.runs.metrics import padded_rounds, transition
from redraft.studies.base import Claim, Finding, Study, StudyContext, StudyResult, finding, paired_effect
from redraft.studies.registry import register

SELF_REFINE = "self_refine[max_rounds=2]"
CRITICAL = "critical[max_rounds=2]"
CITATION = ("Liu et al. 2024, Instruct-of-Reflection (IoRT): enhancing LLMs' iterative reflection "
            "via dynamic-meta instruction, analysis of static self-reflection")


@register
class Flips(Study):
    name = "flips"
    paper = CITATION
    summary = "self_refine and critical: wrong→right vs right→wrong per round, with CL and CS"
    strategies = (SELF_REFINE, CRITICAL)
    claims = (
        Claim(id="right_to_wrong_ge_wrong_to_right",
              text="self-correction turns at least as many right answers wrong as wrong ones right",
              effect="P(right→wrong) − P(wrong→right), first → final answer", direction=">=",
              paper_figure="GSM8K, GPT-3.5: c→i 7.1% vs i→c 5.1%",
              citation="Liu et al. 2024 (IoRT), analysis of self-reflection"),
    )

    async def run(self, context: StudyContext) -> StudyResult:
        # Self-reflection: the model is its own critic, whatever `--role critic` binds.
        done = await context.evaluate(list(self.strategies), without=("critic",))
        findings: list[Finding] = []
        for spec in self.strategies:
            findings.extend(self.flips(spec, done.items[spec]))
        return self.result(context, findings, context.intrinsic_note())

    def flips(self, spec: str, items: list[ItemResult]) -> list[Finding]:
        claim = self.claims[0]
        rows = padded_rounds(items)
        first = [row[0] for row in rows]
        final = [item.correct for item in items]
        out = [finding(claim, f"{spec}: first → final", paired_effect(first, final), strategy=spec,
                       round=None, **flip_details(first, final))]
        depth = len(rows[0]) if rows else 0
        for r in range(1, depth):
            revised = [row for item, row in zip(items, rows, strict=True) if len(item.round_correct) > r]
            before, after = [row[r - 1] for row in revised], [row[r] for row in revised]
            out.append(finding(claim, f"{spec}: round {r - 1} → {r}", paired_effect(before, after),
                               headline=False, strategy=spec, round=r, **flip_details(before, after)))
        return out

    def figures(self, result: StudyResult) -> list[Figure]:
        """IoRT's view: per strategy and round, the share of revised problems turned wrong→right
        (above the axis) and right→wrong (below)."""
        rounds = [f for f in result.findings if f.claim == self.claims[0].id and not f.headline
                  and f.details.get("n_base")]
        if not rounds:
            return []
        categories = [Category(label=f"{f.details['strategy']}\nround {f.details['round']} "
                                     f"(n={f.details['n_base']})") for f in rounds]
        gained = [f.details["wrong_to_right_share"] for f in rounds]
        lost = [-f.details["right_to_wrong_share"] for f in rounds]
        return [BarFigure(
            title="Flips per round: wrong→right against right→wrong", y_label="share of problems revised",
            categories=categories, signed=True,
            bars=[Bars(label="wrong → right", values=gained, tone="gain"),
                  Bars(label="right → wrong", values=lost, tone="loss")],
            caption="Each round r−1 → r over the problems still revised in it (n). The paper, GSM8K with "
                    "GPT-3.5: right→wrong 7.1% against wrong→right 5.1% (Liu et al. 2024, IoRT).")]


def flip_details(before: list[bool], after: list[bool]) -> dict[str, Any]:
    change = transition(before, after)
    n = change.n_base
    return {"right_to_wrong": change.right_to_wrong, "wrong_to_right": change.wrong_to_right,
            "right_to_wrong_share": change.right_to_wrong / n if n else None,
            "wrong_to_right_share": change.wrong_to_right / n if n else None,
            "cl": change.cl, "cs": change.cs, "n_base": n}

"""`repair_vs_resample`: is self-repair worth its tokens? (Olausson et al. 2023; CorrectBench)

Protocol, one evaluation of two strategies on the same problems (math tasks: numeric, math or choice
answers):
- `self_refine[max_rounds=2]`: repair, the model critiquing and rewriting its own answer;
- `self_consistency[k=16]`: resampling, 16 samples at temperature 0.7 and a majority vote.

Every figure at equal tokens comes from the evaluation's own summary
(`redraft.runs.metrics.compare_at_equal_budget`): self-consistency with K samples is re-voted over each
problem's first k samples, at k/K of its tokens (the resampling curve, k = 1..K), and the repair is
compared with the largest k that costs no more per problem than the repair did. The study only reads
that comparison's k back and measures the paired difference on it, so its interval and the summary's
are the same numbers.

Claim `resample_ge_repair`: acc(repair) − acc(resampling at the repair's tokens) ≤ 0. When even K
samples cost less than the repair (`capped`), resampling was given less than an equal budget: a
reproduced verdict still stands (it held with fewer tokens), any other is reported inconclusive.
The resampling curve's points, and the repair's own (tokens, accuracy), are in the finding's details.
"""

from __future__ import annotations

from typing import Any

from redraft.errors import UsageError
from redraft.report.figures import Figure, LineFigure, Series, wilson_band
from redraft.runs.metrics import resampled_correct
from redraft.studies.base import Claim, Study, StudyContext, StudyResult, finding, paired_by_problem
from redraft.studies.registry import register
from redraft.tasks.registry import get_task

REPAIR = "self_refine[max_rounds=2]"
RESAMPLE = "self_consistency[k=16]"
MATH_ANSWERS = ("numeric", "math", "choice")
CITATION = ("Olausson et al. 2023, Is Self-Repair a Silver Bullet for Code Generation? (ICLR 2024); "
            "CorrectBench (Can LLMs Correct Themselves? A Benchmark of Self-Correction in LLMs, 2025)")


@register
class RepairVsResample(Study):
    name = "repair_vs_resample"
    paper = CITATION
    summary = "self_refine vs self-consistency at equal tokens, with the resampling curve (math tasks)"
    strategies = (REPAIR, RESAMPLE)
    claims = (
        Claim(id="resample_ge_repair",
              text="at equal tokens, resampling matches or beats repair",
              effect="acc(repair) − acc(resampling at the repair's tokens)", direction="<=",
              paper_figure="HumanEval and APPS, Code Llama / GPT-3.5 / GPT-4: once repair's cost is counted, "
                           "gains over resampling are modest, vary by subset, sometimes absent",
              citation="Olausson et al. 2023, abstract and the pass rate against tokens figures"),
    )

    async def run(self, context: StudyContext) -> StudyResult:
        answers = get_task(context.task).answer_type
        if answers not in MATH_ANSWERS:
            raise UsageError(f"repair_vs_resample runs on math tasks (numeric, math or choice answers); "
                             f"{context.task} has {answers} answers")
        repair_spec, resample_spec = self.strategies
        done = await context.evaluate(list(self.strategies))
        repair, resample = done.metrics(repair_spec), done.metrics(resample_spec)
        budget = repair.vs_self_consistency
        if budget is None or budget.k is None:  # no samples recorded: nothing to re-vote
            return self.result(context, [], ["self_consistency recorded no samples: no curve, no comparison"])
        k = budget.k
        at_budget = {i.problem_id: resampled_correct(i, k) for i in done.items[resample_spec]}
        details: dict[str, Any] = {
            "k": k, "resampling_tokens_per_problem": budget.tokens_per_problem,
            "repair_tokens_per_problem": repair.tokens_per_problem, "repair_accuracy": repair.accuracy,
            "resampling_accuracy": budget.baseline_accuracy, "capped": budget.capped,
            "resampling_curve": resample.resampling_curve, "budget_note": budget.note,
        }
        measured = paired_by_problem(done.correct(repair_spec), at_budget)
        headline = finding(self.claims[0], f"repair vs resampling at k={k}", measured, **details)
        notes = [curve_note(resample_spec, resample.resampling_curve, repair.tokens_per_problem,
                            repair.accuracy)]
        if budget.capped and headline.verdict != "reproduced":
            headline = headline.model_copy(update={"verdict": "inconclusive", "n_needed": None})
            notes.append(f"{budget.note}: resampling had less than the repair's budget, so only a reproduced "
                         f"verdict would stand; rerun with a larger self_consistency k")
        return self.result(context, [headline], notes)

    def figures(self, result: StudyResult) -> list[Figure]:
        """Accuracy against tokens per problem: the resampling curve (k = 1..K, re-voted), the point
        compared with, and the repair's own point (Olausson et al.'s pass rate against tokens)."""
        found = next((f for f in result.findings if f.headline and "resampling_curve" in f.details), None)
        if found is None or not found.details["resampling_curve"]:
            return []
        details = found.details
        curve = details["resampling_curve"]
        repair_spec, resample_spec = self.strategies
        low, high = wilson_band([details["repair_accuracy"]], found.n)
        series = [
            Series(label=f"resampling ({resample_spec}, first k samples re-voted)",
                   x=[p["tokens_per_problem"] for p in curve], y=[p["accuracy"] for p in curve],
                   style="dashed"),
            Series(label=f"repair ({repair_spec})", x=[details["repair_tokens_per_problem"]],
                   y=[details["repair_accuracy"]], low=low, high=high, style="points"),
        ]
        compared = [p for p in curve if int(p["k"]) == details["k"]]
        if compared:
            series.append(Series(label=f"resampling at the repair's tokens (k={details['k']})",
                                 x=[compared[0]["tokens_per_problem"]], y=[compared[0]["accuracy"]],
                                 style="points"))
        return [LineFigure(
            title="Accuracy against tokens: repair and the resampling curve", x_label="tokens per problem",
            y_label="accuracy", series=series,
            caption="A repair below the curve would have done better spending its tokens on samples. "
                    + (details.get("budget_note") or ""))]


def curve_note(spec: str, curve: list[dict[str, float]], repair_tokens: float, repair_accuracy: float) -> str:
    points = ", ".join(f"k={int(p['k'])}: {p['tokens_per_problem']:.0f} tok {p['accuracy']:.1%}"
                       for p in curve)
    return (f"resampling curve ({spec} re-voted over each problem's first k samples): {points}; "
            f"repair: {repair_tokens:.0f} tok {repair_accuracy:.1%}")


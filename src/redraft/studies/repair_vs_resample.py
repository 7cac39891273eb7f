"""`repair_vs_resample`: is self-repair worth its tokens? (Olausson et al. 2023; CorrectBench)

Protocol, one evaluation of two strategies on the same problems:
- math tasks (numeric, math or choice answers): `self_refine[max_rounds=2]` (repair: the model
  critiquing and rewriting its own answer) against `self_consistency[k=16]` (resampling: 16 samples
  at temperature 0.7, a majority vote);
- code tasks, Olausson et al.'s protocol: `self_debug[max_rounds=2]` (repair: the visible tests run,
  their failures shown, the code fixed) against pass@k with visible-test selection: of each
  problem's first k samples of `self_consistency[k=16]`, the first that passes the problem's visible
  tests (none passing, or none to run: the first sample), graded by the hidden tests. The visible
  tests are the problem's `tests` (HumanEval: the docstring's examples), all a strategy sees; the
  hidden ones (`test`, private metadata) reach only the grader, which runs apart from the program in
  the sandbox, so the graded code cannot pass by forging its results (see `redraft.sandbox.testing`).
  Self-consistency's own vote over program texts is not the baseline.

Every figure at equal tokens comes from the evaluation's own summary
(`redraft.runs.metrics.compare_at_equal_budget`): the K samples are re-chosen (voted, or on code
filtered by the visible tests: `resampled_correct`) over each problem's first k samples, at k/K of
the tokens (the resampling curve, k = 1..K), and the repair is compared with the largest k that
costs no more per problem than the repair did. The study only reads that comparison's k back and
measures the paired difference on it, so its k, difference and resampling accuracy are the summary's
(its interval is Newcombe's, as every study's; the summary prints a paired bootstrap's).

Claim `resample_ge_repair`: acc(repair) − acc(resampling at the repair's tokens) ≤ 0. When even K
samples cost less than the repair (`capped`), resampling was given less than an equal budget: a
reproduced verdict still stands (it held with fewer tokens), any other is reported inconclusive.
The resampling curve's points, and the repair's own (tokens, accuracy), are in the finding's details.
"""

from __future__ import annotations

from typing import Any, ClassVar

from redraft.errors import UsageError
from redraft.report.figures import Figure, LineFigure, Series, wilson_band
from redraft.runs.eval_store import ItemResult
from redraft.runs.metrics import resampled_correct
from redraft.studies.base import Claim, Study, StudyContext, StudyResult, finding, paired_by_problem
from redraft.studies.registry import register
from redraft.tasks.registry import get_task

REPAIR = "self_refine[max_rounds=2]"
DEBUG = "self_debug[max_rounds=2]"
RESAMPLE = "self_consistency[k=16]"
MATH_ANSWERS = ("numeric", "math", "choice")
CODE_RESAMPLING = ("code: resampling is pass@k with visible-test selection, the first of each problem's "
                   "first k samples passing its visible tests (none passing: the first), graded by the "
                   "hidden tests; self_consistency's own vote over program texts is not the baseline")
CITATION = ("Olausson et al. 2023, Is Self-Repair a Silver Bullet for Code Generation? (ICLR 2024); "
            "CorrectBench (Can LLMs Correct Themselves? A Benchmark of Self-Correction in LLMs, 2025)")


@register
class RepairVsResample(Study):
    name = "repair_vs_resample"
    paper = CITATION
    summary = ("self_refine vs self-consistency (math), self_debug vs pass@k with visible-test selection "
               "(code), at equal tokens, with the resampling curve")
    #: The repair and the resampling arm, on math tasks and on code tasks.
    math_strategies: ClassVar[tuple[str, str]] = (REPAIR, RESAMPLE)
    code_strategies: ClassVar[tuple[str, str]] = (DEBUG, RESAMPLE)
    strategies = (REPAIR, DEBUG, RESAMPLE)
    claims = (
        Claim(id="resample_ge_repair",
              text="at equal tokens, resampling matches or beats repair",
              effect="acc(repair) − acc(resampling at the repair's tokens)", direction="<=",
              paper_figure="HumanEval and APPS, Code Llama / GPT-3.5 / GPT-4: once repair's cost is counted, "
                           "gains over resampling are modest, vary by subset, sometimes absent",
              citation="Olausson et al. 2023, abstract and the pass rate against tokens figures"),
    )

    def arms(self, task: str) -> tuple[str, str]:
        """(repair, resampling) for the task's kind of answer; other kinds are refused."""
        answers = get_task(task).answer_type
        if answers == "code":
            return self.code_strategies
        if answers in MATH_ANSWERS:
            return self.math_strategies
        raise UsageError(f"repair_vs_resample runs on math tasks (numeric, math or choice answers) and code "
                         f"tasks; {task} has {answers} answers")

    async def run(self, context: StudyContext) -> StudyResult:
        repair_spec, resample_spec = self.arms(context.task)
        done = await context.evaluate([repair_spec, resample_spec])
        repair, resample = done.metrics(repair_spec), done.metrics(resample_spec)
        budget = repair.vs_self_consistency
        if budget is None or budget.k is None:  # no samples recorded: nothing to re-vote
            return self.result(context, [], ["self_consistency recorded no samples: no curve, no comparison"])
        k = budget.k
        at_budget = {i.problem_id: resampled_correct(i, k) for i in done.items[resample_spec]}
        rule = resample.resampling_rule or "majority vote"
        details: dict[str, Any] = {
            "k": k, "repair": repair_spec, "resampling": resample_spec, "resampling_rule": rule,
            "resampling_tokens_per_problem": budget.tokens_per_problem,
            "repair_tokens_per_problem": repair.tokens_per_problem, "repair_accuracy": repair.accuracy,
            "repair_accuracy_by_round": [r.accuracy for r in repair.rounds],
            "resampling_accuracy": budget.baseline_accuracy, "capped": budget.capped,
            "resampling_curve": resample.resampling_curve, "budget_note": budget.note,
        }
        notes = [curve_note(resample_spec, resample.resampling_curve, repair.tokens_per_problem,
                            repair.accuracy, rule)]
        if rule != "majority vote":
            blind = without_visible_tests(done.items[resample_spec])
            details["problems_without_visible_tests"] = blind
            blind_note = f"; {blind} problems have no visible tests: neither arm had a signal on them"
            notes.append(CODE_RESAMPLING + (blind_note if blind else ""))
        measured = paired_by_problem(done.correct(repair_spec), at_budget)
        name = repair_spec.partition("[")[0]
        headline = finding(self.claims[0], f"{name} vs resampling at k={k}", measured, **details)
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
        repair_spec = details.get("repair", self.math_strategies[0])
        resample_spec = details.get("resampling", self.math_strategies[1])
        rule = details.get("resampling_rule", "majority vote")
        picked = "re-voted" if rule == "majority vote" else rule
        low, high = wilson_band([details["repair_accuracy"]], found.n)
        series = [
            Series(label=f"resampling ({resample_spec}, first k samples {picked})",
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


def without_visible_tests(items: list[ItemResult]) -> int:
    """Problems none of whose samples could be run against visible tests (there were none)."""
    return sum(1 for i in items if i.samples and all(s.get("visible") is None for s in i.samples))


def curve_note(spec: str, curve: list[dict[str, float]], repair_tokens: float, repair_accuracy: float,
               rule: str = "majority vote") -> str:
    points = ", ".join(f"k={int(p['k'])}: {p['tokens_per_problem']:.0f} tok {p['accuracy']:.1%}"
                       for p in curve)
    how = "re-voted over" if rule == "majority vote" else f"{rule}, of"
    return (f"resampling curve ({spec} {how} each problem's first k samples): {points}; "
            f"repair: {repair_tokens:.0f} tok {repair_accuracy:.1%}")


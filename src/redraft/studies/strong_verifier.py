"""`strong_verifier`: Small Language Models Need Strong Verifiers to Self-Correct Reasoning
(Zhang et al. 2024).

Protocol: the same refiner (`self_refine[max_rounds=2]`, the generator rewriting its answer from the
feedback) gated three ways, on the same problems and from the same first draft:
- **self-gated**: the model is its own critic (the `critic` role unbound for this evaluation, so its
  calls fall back to the generator);
- **strong-gated**: the critic is the model bound to the `critic` role (`--role critic=MODEL[@URL]` or
  `--critic-model`), a second evaluation of the same spec with that binding;
- **oracle-gated**: `self_refine[max_rounds=2]@oracle`, the reference answer decides whether to revise
  (an upper bound that needs the labels; oracle-conditioned).
The self-gated and oracle-gated arms are one evaluation, the strong-gated arm another; every first
draft is the same request, so with the cache on it is paid once.

Claims (paired differences over the problems both sides finished):
1. `strong_gt_self`: acc(strong-gated) − acc(self-gated) > 0;
2. `oracle_gt_self`: acc(oracle-gated) − acc(self-gated) > 0 (oracle-conditioned).

With no critic bound (or one bound to the generator's own model and endpoint) the "strong" critic would
be the model itself: the strong arm is not run, and `strong_gt_self` is reported inconclusive with
nothing measured (n = 0) and a note saying why, rather than refusing the study: the oracle claim is
still measured. (Running it anyway would measure two identical arms and call the claim contradicted,
which says nothing about strong verifiers.)
"""

from __future__ import annotations

from typing import Any

from redraft.report.figures import BarFigure, Bars, Category, Figure, wilson_band
from redraft.studies.base import (
    Claim,
    Evaluated,
    Finding,
    Measured,
    Study,
    StudyContext,
    StudyResult,
    finding,
    paired_by_problem,
)
from redraft.studies.registry import register

REFINER = "self_refine[max_rounds=2]"
ORACLE = "self_refine[max_rounds=2]@oracle"
CITATION = ("Zhang et al. 2024, Small Language Models Need Strong Verifiers to Self-Correct Reasoning "
            "(Findings of ACL 2024)")
NO_CRITIC = ("no critic role is bound, so the strong critic would be the model itself: the strong-gated arm "
             "was not run and strong_gt_self is inconclusive with nothing measured; bind one with "
             "--role critic=MODEL[@BASE_URL] (or --critic-model)")


@register
class StrongVerifier(Study):
    name = "strong_verifier"
    paper = CITATION
    summary = ("self_refine gated by its own critic, by a stronger critic (--role critic=...) and by the "
               "oracle")
    strategies = (REFINER, ORACLE)
    claims = (
        Claim(id="strong_gt_self",
              text="a stronger critic gating the same refiner raises accuracy over self-verification",
              effect="acc(strong-gated) − acc(self-gated)", direction=">",
              paper_figure="small LMs (≤ 13B), math and commonsense: notable gains with a GPT-4 "
                           "verifier, limited with the model's own (qualitative, from the abstract)",
              citation="Zhang et al. 2024, abstract"),
        Claim(id="oracle_gt_self",
              text="with the oracle as verifier, the same refiner does better than self-verified",
              effect="acc(oracle-gated) − acc(self-gated)", direction=">",
              paper_figure="self-correction is bottlenecked by the verifier, not the refiner; the oracle "
                           "is the verifier's upper bound",
              citation="Zhang et al. 2024, abstract; oracle gating as in Huang et al. 2023",
              oracle_conditioned=True),
    )

    async def run(self, context: StudyContext) -> StudyResult:
        own = await context.evaluate([REFINER, ORACLE], without=("critic",))
        self_gated = own.correct(REFINER)
        notes = [f"oracle-conditioned: {ORACLE} revises only answers the reference marks wrong; its "
                 "accuracy is an upper bound that needs the labels"]
        if context.bound("critic"):
            strong = await context.evaluate([REFINER])
            critic = context.describe("critic")
            strong_finding = self.compare("strong_gt_self", f"strong-gated ({critic}) vs self-gated",
                                          strong.correct(REFINER), self_gated, strong, own, critic=critic)
            notes.append(f"strong critic: {critic} (eval {strong.eval_id}); self-gated and oracle-gated: "
                         f"eval {own.eval_id}")
        else:
            empty = Measured(effect=None, ci_low=None, ci_high=None, n=0, p_value=None, sd=None)
            strong_finding = finding(self.claim("strong_gt_self"), "strong-gated: no critic bound", empty,
                                     critic=None, reason=NO_CRITIC)
            notes.append(NO_CRITIC)
        oracle_finding = self.compare("oracle_gt_self", "oracle-gated vs self-gated", own.correct(ORACLE),
                                      self_gated, own, own, spec=ORACLE)
        return self.result(context, [strong_finding, oracle_finding], notes)

    def compare(self, claim_id: str, subject: str, mine: dict[str, bool], baseline: dict[str, bool],
                done: Evaluated, base: Evaluated, *, spec: str = REFINER, **extra: Any) -> Finding:
        measured = paired_by_problem(mine, baseline)
        shared = [p for p in mine if p in baseline]
        return finding(self.claim(claim_id), subject, measured,
                       accuracy=sum(mine[p] for p in shared) / len(shared) if shared else None,
                       baseline_accuracy=sum(baseline[p] for p in shared) / len(shared) if shared else None,
                       accuracy_by_round=[r.accuracy for r in done.metrics(spec).rounds],
                       baseline_accuracy_by_round=[r.accuracy for r in base.metrics(REFINER).rounds],
                       calls_per_problem=done.metrics(spec).calls_per_problem,
                       gained=sum(mine[p] and not baseline[p] for p in shared),
                       lost=sum(baseline[p] and not mine[p] for p in shared), **extra)

    def figures(self, result: StudyResult) -> list[Figure]:
        """Accuracy of the same refiner per gating: its own critic, the strong critic, the oracle."""
        headline = {f.claim: f for f in result.findings if f.headline}
        strong, oracle = headline.get("strong_gt_self"), headline.get("oracle_gt_self")
        if oracle is None or oracle.details.get("baseline_accuracy") is None:
            return []
        critic = strong.details.get("critic") if strong is not None else None
        if strong is not None and strong.n > 0:
            strong_arm = (f"strong-gated ({critic})", strong.details.get("accuracy"), strong.n)
        else:
            strong_arm = ("strong-gated (not run: no critic bound)" if critic is None
                          else f"strong-gated ({critic}): nothing measured", None, 0)
        arms = [("self-gated (its own critic)", oracle.details["baseline_accuracy"], oracle.n), strong_arm,
                ("oracle-gated", oracle.details["accuracy"], oracle.n)]
        bands = [wilson_band([accuracy], n) for _, accuracy, n in arms]
        return [BarFigure(
            title=f"Accuracy per gating of {REFINER}", y_label="accuracy (95% CI)",
            categories=[Category(label=arms[0][0]), Category(label=arms[1][0]),
                        Category(label=arms[2][0], oracle_conditioned=True)],
            bars=[Bars(label="accuracy", values=[accuracy for _, accuracy, _ in arms],
                       low=[b[0][0] for b in bands], high=[b[1][0] for b in bands])],
            caption="Zhang et al. 2024: small models self-correct with a strong verifier, hardly with their "
                    "own. † oracle-conditioned: the reference decides whether to revise.")]

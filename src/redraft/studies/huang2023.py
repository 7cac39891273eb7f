"""`huang2023`: Large Language Models Cannot Self-Correct Reasoning Yet (Huang et al., 2023).

Protocol, one evaluation of three strategies on the same problems:
- `direct`: the first chain-of-thought answer;
- `critical[max_rounds=2]`: intrinsic self-correction, the paper's own prompts ("Review your previous
  answer and find problems with your answer." then "Based on the problems you found, improve your
  answer."), two rounds, the critic and refiner being the model itself;
- `critical[max_rounds=2]@oracle`: the same, stopped at the first answer the reference marks right
  (the paper's oracle setting; it needs the labels, so it is an upper bound, not a method).
All three start from the same first draft (one request, then the cache when it is on).

Claims (paired differences over the problems all sides finished):
1. `intrinsic_le_direct`: acc(intrinsic) − acc(direct) ≤ 0;
2. `oracle_gt_direct`: acc(oracle-stopped) − acc(direct) > 0 (oracle-conditioned);
3. `oracle_inflation`: acc(oracle-stopped) − acc(intrinsic) > 0: what oracle stopping adds is the
   oracle's doing, the "inflation" of results reported with it (oracle-conditioned).
"""

from __future__ import annotations

from redraft.report.figures import Figure, LineFigure, Series, wilson_band
from redraft.studies.base import (
    Claim,
    Evaluated,
    Finding,
    Study,
    StudyContext,
    StudyResult,
    finding,
    paired_by_problem,
)
from redraft.studies.registry import register

DIRECT = "direct"
INTRINSIC = "critical[max_rounds=2]"
ORACLE = "critical[max_rounds=2]@oracle"
CITATION = "Huang et al. 2023, Large Language Models Cannot Self-Correct Reasoning Yet (ICLR 2024)"


@register
class Huang2023(Study):
    name = "huang2023"
    paper = CITATION
    summary = "direct CoT vs intrinsic review-and-improve (2 rounds) vs the same with oracle stopping"
    strategies = (DIRECT, INTRINSIC, ORACLE)
    claims = (
        Claim(id="intrinsic_le_direct",
              text="intrinsic self-correction does not raise accuracy",
              effect="acc(intrinsic) − acc(direct)", direction="<=",
              paper_figure="CommonsenseQA, GPT-3.5: 75.8 → 38.1",
              citation="Huang et al. 2023, Table 3 (intrinsic)"),
        Claim(id="oracle_gt_direct",
              text="with oracle stopping, self-correction raises accuracy",
              effect="acc(oracle-stopped) − acc(direct)", direction=">",
              paper_figure="GSM8K, GPT-3.5: 75.9 → 84.3",
              citation="Huang et al. 2023, Table 1 (oracle labels)",
              oracle_conditioned=True),
        Claim(id="oracle_inflation",
              text="the gain is the oracle's: oracle-stopped beats intrinsic on the same prompts",
              effect="acc(oracle-stopped) − acc(intrinsic)", direction=">",
              paper_figure="GSM8K, GPT-3.5: 84.3 (oracle) vs 74.7 (intrinsic), +9.6 points",
              citation="Huang et al. 2023, Tables 1 and 3",
              oracle_conditioned=True),
    )

    async def run(self, context: StudyContext) -> StudyResult:
        # Intrinsic: the model is its own critic, whatever `--role critic` binds.
        done = await context.evaluate(list(self.strategies), without=("critic",))
        direct, intrinsic, oracle = (done.correct(s) for s in self.strategies)
        findings = [
            self.compare("intrinsic_le_direct", "intrinsic vs direct", intrinsic, direct, done, INTRINSIC),
            self.compare("oracle_gt_direct", "oracle-stopped vs direct", oracle, direct, done, ORACLE),
            self.compare("oracle_inflation", "oracle-stopped vs intrinsic", oracle, intrinsic, done, ORACLE),
        ]
        notes = [f"oracle-conditioned: {ORACLE} stops at the first answer the reference marks right; "
                 "its accuracy is an upper bound that needs the labels"]
        return self.result(context, findings, notes + context.intrinsic_note())

    def compare(self, claim_id: str, subject: str, mine: dict[str, bool], baseline: dict[str, bool],
                done: Evaluated, spec: str) -> Finding:
        measured = paired_by_problem(mine, baseline)
        shared = [p for p in mine if p in baseline]
        metrics = done.metrics(spec)
        return finding(self.claim(claim_id), subject, measured,
                       accuracy=sum(mine[p] for p in shared) / len(shared) if shared else None,
                       baseline_accuracy=sum(baseline[p] for p in shared) / len(shared) if shared else None,
                       accuracy_by_round=[r.accuracy for r in metrics.rounds],
                       gained=sum(mine[p] and not baseline[p] for p in shared),
                       lost=sum(baseline[p] and not mine[p] for p in shared))

    def figures(self, result: StudyResult) -> list[Figure]:
        """Accuracy after each round, intrinsic and oracle-stopped, against direct (Tables 1 and 3)."""
        headline = {f.claim: f for f in result.findings if f.headline}
        intrinsic, oracle = headline.get("intrinsic_le_direct"), headline.get("oracle_gt_direct")
        if intrinsic is None or oracle is None or not intrinsic.details.get("accuracy_by_round"):
            return []
        series = []
        for label, found, oracle_conditioned in ((f"intrinsic ({INTRINSIC})", intrinsic, False),
                                                 (f"oracle-stopped ({ORACLE})", oracle, True)):
            accuracy = found.details["accuracy_by_round"]
            low, high = wilson_band(accuracy, found.n)
            series.append(Series(label=label, x=list(range(len(accuracy))), y=accuracy, low=low, high=high,
                                 oracle_conditioned=oracle_conditioned))
        last = max(len(s.x) for s in series) - 1
        direct = intrinsic.details["baseline_accuracy"]
        series.append(Series(label=f"{DIRECT} (first answer)", x=[0, max(last, 1)], y=[direct, direct],
                             style="dashed"))
        return [LineFigure(
            title="Accuracy by round, with and without the oracle", x_label="round (0 = first draft)",
            y_label="accuracy (95% CI)", series=series, integer_x=True,
            caption="The paper (GPT-3.5): GSM8K 75.9 → 84.3 with oracle stopping (Table 1); CommonsenseQA "
                    "75.8 → 38.1 intrinsic (Table 3). † oracle-conditioned: stopped by the reference.")]

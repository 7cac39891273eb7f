"""`gen_verify_gap`: Mind the Gap: Examining the Self-Improvement Capabilities of Large Language
Models (Song et al., 2024).

The paper's generation-verification gap is the gain in expected utility from reweighting the model's
own generations by its own verification: gap = J(f[w(u_g)]) − J(f), the accuracy of a sample drawn
from the generations reweighted by the verifier, minus the accuracy of a plain sample. With a yes/no
verifier the reweighting is a filter, so here:

    for each problem x:
        y_1..y_k ~ M(x) at T = 0.7, seeded            # best_of_n's samples
        v_j = M(verify | x, y_j) ∈ {correct, revise, unparseable}   # the critic, i.e. the model
    generation accuracy g_x = mean_j right(y_j)
    filtered accuracy   f_x = mean over {j : v_j = correct} of right(y_j)
    gap = mean over problems with an accepted sample of (f_x − g_x)

One evaluation, `best_of_n[n=8]@critic` with the `critic` role unbound (its calls fall back to the
generator, so the verifier is the model itself whatever `--role critic` says): 8 samples at
temperature 0.7, each judged by the critic prompt (a step-by-step review ending in "VERDICT:
correct|revise", the paper's chain-of-thought verification with a binary verdict). The study reads
each sample's correctness from the item (`ItemResult.samples`, scored by the task) and its verdict
from the candidate the run recorded. Samples are seeded (the study's `--seed`, else 0, and said so),
so a rerun asks the same requests and the cache answers them.

Why the accuracy of the accepted samples, not a majority vote over them: the gap is about the
verifier, and a vote adds self-consistency's own gain, which needs no verifier at all. (The vote over
all samples is in the details, for comparison; best_of_n's own pick, the first accepted sample, is the
evaluation's accuracy.) An unparseable verdict is no acceptance: the filter keeps only samples the
model said were correct; unparseable ones are counted, and left out of the AUROC. A problem where no
sample was accepted has no filtered accuracy: it is left out of the gap (counted), and its generation
accuracy with it, so both sides are measured on the same problems.

Claims:
1. `gap_positive`: mean(f_x − g_x) > 0, paired per problem. The interval is Newcombe's paired
   interval on the expected counts of one (accepted sample, any sample) pair drawn per problem (see
   `redraft.studies.intervals`): conservative, and it never collapses to [0, 0] when every problem
   says the same (a model that gets every sample wrong, a verifier that accepts everything).
2. `verifier_informative`: the AUROC of the verdicts against the reference labels > 0.5 (for a yes/no
   verdict, 0.5 + (TPR − FPR)/2). Interval: the hull of Newcombe's interval for TPR − FPR and a
   bootstrap over problems (see `redraft.studies.intervals`). n counts problems.
The AUROC and the accept rates on right and on wrong samples are measured against the reference:
they describe the verifier and need the labels; the filter itself uses only the model's verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redraft.runs.eval_store import ItemResult
from redraft.runs.metrics import resampled_correct
from redraft.studies.base import Claim, Evaluated, Finding, Study, StudyContext, StudyResult, finding
from redraft.studies.intervals import VerdictCounts, binary_auroc, mean_gap_by_problem
from redraft.studies.registry import register
from redraft.trace import Verdict

K = 8
SPEC = f"best_of_n[n={K}]@critic"
#: The samples' seed when the study is given none: samples at T > 0 must be reproducible.
DEFAULT_SEED = 0
CITATION = (
    "Song et al. 2024, Mind the Gap: Examining the Self-Improvement Capabilities of Large "
    "Language Models (arXiv 2412.02674)"
)


@dataclass(frozen=True)
class Judged:
    """One sample: right by the reference, and the model's verdict on it (None: never judged)."""

    correct: bool
    verdict: Verdict | None

    @property
    def accepted(self) -> bool:
        return self.verdict is Verdict.OK

    @property
    def parsed(self) -> bool:
        return self.verdict in (Verdict.OK, Verdict.REVISE)


@register
class GenVerifyGap(Study):
    name = "gen_verify_gap"
    paper = CITATION
    summary = (
        "k samples, each verified by the model itself: accuracy of the ones it accepts vs of all, "
        "and the AUROC of its verdicts"
    )
    strategies = (SPEC,)
    claims = (
        Claim(
            id="gap_positive",
            text="filtering its own samples by its own verification raises accuracy",
            effect="acc(samples it verified correct) − acc(all samples), per problem",
            direction=">",
            paper_figure="the gap (and the relative gap, gap / (1 − acc)) is positive on math and grows "
            "with pre-training compute under CoT verification; near 0 or negative on "
            "factual QA (Natural Questions) (from memory, to check)",
            citation="Song et al. 2024, scaling and task results",
        ),
        Claim(
            id="verifier_informative",
            text="its verdicts on its own samples tell right from wrong better than chance",
            effect="AUROC of its verdicts against the reference",
            direction=">",
            threshold=0.5,
            paper_figure="a positive gap needs a verifier better than chance on the model's own "
            "samples; P(True) self-evaluation separates right from wrong samples for large "
            "models (Kadavath et al. 2022) (from memory, to check)",
            citation="Song et al. 2024 (the gap's premise); Kadavath et al. 2022, Language Models "
            "(Mostly) Know What They Know",
        ),
    )

    async def run(self, context: StudyContext) -> StudyResult:
        done = await context.evaluate([SPEC], without=("critic",), default_seed=DEFAULT_SEED)
        items = done.items[SPEC]
        judged = {item.problem_id: judged_samples(context, item) for item in items}
        gap = self.gap(judged, done, items)
        auroc = self.auroc(judged)
        notes = [
            "labels: the AUROC and the accept rates on right and wrong samples are measured against the "
            "reference answers (oracle labels: they describe the verifier and need the labels); the filtered "
            "accuracy uses only the model's own verdicts",
            f"the verifier is the generator itself ({SPEC}, the critic role unbound); eval {done.eval_id}",
        ]
        if context.seed is None:
            notes.append(
                f"samples seeded with {DEFAULT_SEED} (no --seed given), so a rerun asks the same requests"
            )
        unparseable = gap.details["unparseable"]
        if unparseable:
            notes.append(
                f"{unparseable} of {gap.details['verifications']} verdicts could not be parsed: "
                "the filter does not keep those samples, and the AUROC leaves them out"
            )
        if gap.details["problems_without_acceptance"]:
            notes.append(
                f"{gap.details['problems_without_acceptance']} problems had no sample the model "
                "accepted: no filtered accuracy there, so they are not in the gap"
            )
        return self.result(context, [gap, auroc], notes)

    def gap(self, judged: dict[str, list[Judged]], done: Evaluated, items: list[ItemResult]) -> Finding:
        pairs: list[tuple[float, float]] = []
        for samples in judged.values():
            accepted = [s for s in samples if s.accepted]
            if accepted:
                pairs.append((share(accepted), share(samples)))
        everything = [s for samples in judged.values() for s in samples]
        accepted_all = [s for s in everything if s.accepted]
        per_problem = [share(samples) for samples in judged.values() if samples]
        details: dict[str, Any] = {
            "k": K,
            "problems": len(judged),
            "samples": len(everything),
            "verifications": sum(s.verdict is not None for s in everything),
            "unparseable": sum(s.verdict is Verdict.UNKNOWN for s in everything),
            "accepted": len(accepted_all),
            "problems_without_acceptance": len(judged) - len(pairs),
            "generation_accuracy": sum(per_problem) / len(per_problem) if per_problem else None,
            "generation_accuracy_paired": sum(g for _, g in pairs) / len(pairs) if pairs else None,
            "filtered_accuracy": sum(f for f, _ in pairs) / len(pairs) if pairs else None,
            "filtered_accuracy_pooled": share(accepted_all) if accepted_all else None,
            "first_accepted_accuracy": done.metrics(SPEC).accuracy if items else None,
            "vote_accuracy": (sum(resampled_correct(i, K) for i in items) / len(items)) if items else None,
        }
        return finding(
            self.claim("gap_positive"),
            "accepted samples vs all samples",
            mean_gap_by_problem(pairs),
            **details,
        )

    def auroc(self, judged: dict[str, list[Judged]]) -> Finding:
        by_problem = [counts(samples) for samples in judged.values() if any(s.parsed for s in samples)]
        measured, parts = binary_auroc(by_problem)
        parsed = [s for samples in judged.values() for s in samples if s.parsed]
        details: dict[str, Any] = {
            **parts,
            "parsed_verdicts": len(parsed),
            "accept_rate": sum(s.accepted for s in parsed) / len(parsed) if parsed else None,
            "accept_rate_right": parts["tpr"],
            "accept_rate_wrong": parts["fpr"],
        }
        if measured.effect is None:
            details["reason"] = "no AUROC: the parsed verdicts were all on right samples or all on wrong ones"
        return finding(self.claim("verifier_informative"), "self-verification AUROC", measured, **details)


def judged_samples(context: StudyContext, item: ItemResult) -> list[Judged]:
    """An item's samples: correctness from the item (scored by the task), verdicts from the run's
    recorded sample candidates (the same samples, in the same order)."""
    candidates = [c for c in context.candidates(item) if c.stage is None and c.kind == "sample"]
    return [
        Judged(correct=bool(record.get("correct")), verdict=candidate.verdict)
        for record, candidate in zip(item.samples, candidates, strict=True)
    ]


def share(samples: list[Judged]) -> float:
    return sum(s.correct for s in samples) / len(samples)


def counts(samples: list[Judged]) -> VerdictCounts:
    parsed = [s for s in samples if s.parsed]
    return VerdictCounts(
        right=sum(s.correct for s in parsed),
        wrong=sum(not s.correct for s in parsed),
        accepted_right=sum(s.correct and s.accepted for s in parsed),
        accepted_wrong=sum(not s.correct and s.accepted for s in parsed),
    )

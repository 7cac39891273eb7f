"""`blind_spot`: Self-Correction Bench (Tsui 2025). Does the model fix an error in its own turn as
well as the same error shown as a user's, and does " Wait" close the gap?

Protocol, one evaluation of five strategies on the same problems, all from the same first draft (one
request, then the cache when it is on):
- `direct`: the model's own answer;
- `injected_error[turn=own,wait=false]`: its draft with one number made wrong (the first worked-out
  number plus one, cut right after that step: `redraft.strategies.corruption`), continued as its own
  assistant turn (assistant prefill);
- `injected_error[turn=own,wait=true]`: the same with " Wait" right after the corrupted step;
- `injected_error[turn=user,wait=false]`: the same corrupted start shown in a user message as an
  attempt to check and finish (`injected_error.USER_PROMPT`);
- `injected_error[turn=user,wait=true]`: the same ending in " Wait" (detail only).

Only problems the model solves take part: every probe's own first draft is scored right by the
task against the reference (the first round of its run), had a number to corrupt, and ran to its
end; an own-turn probe the endpoint answered with a new turn (`not_continued`) is no continuation.
All four probes must have corrupted the same text (they do when they share the draft). Every other
problem is counted, by reason, in a note, never dropped silently. Accuracy is the probe's final
answer against the reference.

Claims (paired differences over the problems that take part, Newcombe's interval):
1. `blind_spot_positive`: acc(user turn) − acc(own turn) > 0;
2. `wait_shrinks_it`: acc(own turn + Wait) − acc(own turn) > 0; under it, as detail,
   acc(user turn + Wait) − acc(user turn).
The blind-spot rate 1 − acc(own)/acc(user), as the authors' code computes it
(`plot/plot_blind_spot_summary.py`: (acc_user − acc_model) / acc_user), the rate with Wait
(own + Wait against the user turn) and the share of the blind spot Wait removed are in the findings'
details and a note, with the four accuracies. The problems are chosen with the reference, but every
comparison is between probes of those same problems: no figure is an oracle-stopped upper bound.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from redraft.report.figures import BarFigure, Bars, Category, Figure, wilson_band
from redraft.runs.eval_store import ItemResult
from redraft.studies.base import Claim, Evaluated, Study, StudyContext, StudyResult, finding, paired_effect
from redraft.studies.registry import register

DIRECT = "direct"
ARMS = {
    "own": "injected_error[turn=own,wait=false]",
    "own_wait": "injected_error[turn=own,wait=true]",
    "user": "injected_error[turn=user,wait=false]",
    "user_wait": "injected_error[turn=user,wait=true]",
}
CITATION = (
    "Tsui 2025, Self-Correction Bench: Uncovering and Addressing the Self-Correction Blind Spot in "
    "Large Language Models (arXiv 2507.02778)"
)
#: Why a problem is not in the paired claims, in the order they are checked (the first that applies).
EXCLUDED = {
    "failed": "a call failed for good",
    "unsolved": "the first draft was wrong",
    "no_corruptible_number": "no number to corrupt in the draft's reasoning",
    "not_probed": "a probe stopped before its end (budget)",
    "not_continued": "the endpoint answered the own-turn prefill with a new turn (not_continued)",
    "drafts_differ": "the probes corrupted different drafts (no cache, sampled drafts)",
}


@register
class BlindSpot(Study):
    name = "blind_spot"
    paper = CITATION
    summary = (
        "the model's own correct draft with one number made wrong: continued as its own turn vs "
        "checked as a user's attempt, with and without ' Wait'"
    )
    strategies = (DIRECT, *ARMS.values())
    claims = (
        Claim(
            id="blind_spot_positive",
            text="the model fixes an error shown as a user's attempt more often than the same error in "
            "its own turn",
            effect="acc(user turn) − acc(own turn)",
            direction=">",
            paper_figure="average blind-spot rate 1 − acc(own)/acc(user) of 64.5% over 14 open-source "
            "non-reasoning models",
            citation="Tsui 2025, Self-Correction Bench, abstract",
        ),
        Claim(
            id="wait_shrinks_it",
            text='appending "Wait" after the error raises the own turn\'s accuracy (closes the blind spot)',
            effect="acc(own turn + Wait) − acc(own turn)",
            direction=">",
            paper_figure='appending "Wait" reduces blind spots by 89.3%',
            citation="Tsui 2025, Self-Correction Bench, abstract",
        ),
    )

    async def run(self, context: StudyContext) -> StudyResult:
        done = await context.evaluate(list(self.strategies))
        arms = {arm: {i.problem_id: i for i in done.items[spec]} for arm, spec in ARMS.items()}
        probes = {
            arm: {pid: self.probe_metadata(context, item) for pid, item in items.items()}
            for arm, items in arms.items()
        }
        index = {pid: item.problem_index for items in arms.values() for pid, item in items.items()}
        reasons = {pid: exclusion(pid, arms, probes) for pid in sorted(index, key=lambda pid: index[pid])}
        included = [pid for pid, reason in reasons.items() if reason is None]
        excluded = Counter(reason for reason in reasons.values() if reason is not None)
        excluded["failed"] += done.summary.problems - len(index)  # failed in every probe
        excluded = +excluded  # no zero counts
        right = {arm: [items[pid].correct for pid in included] for arm, items in arms.items()}
        details = self.details(done, right, excluded, len(included))
        per_problem = {
            pid: {
                "original": probes["own"][pid].get("original"),
                "injected": probes["own"][pid].get("injected"),
                **{arm: arms[arm][pid].correct for arm in ARMS},
            }
            for pid in included
        }
        findings = [
            finding(
                self.claim("blind_spot_positive"),
                "user turn vs own turn",
                paired_effect(right["user"], right["own"]),
                **details,
                per_problem=per_problem,
            ),
            finding(
                self.claim("wait_shrinks_it"),
                "own turn + Wait vs own turn",
                paired_effect(right["own_wait"], right["own"]),
                **details,
            ),
            finding(
                self.claim("wait_shrinks_it"),
                "user turn + Wait vs user turn (detail)",
                paired_effect(right["user_wait"], right["user"]),
                headline=False,
                **details,
            ),
        ]
        notes = [
            rates_note(details),
            exclusions_note(done.summary.problems, len(included), excluded),
            "the problems are chosen with the reference (drafts it scores right); every comparison is "
            "between probes of those same problems, so no figure here is an oracle-stopped upper bound",
            "the user-turn prompt asks the model to check the attempt and find any error "
            "(injected_error.USER_PROMPT); the paper's code shows the question and the attempt with no "
            "instruction, so this user turn is the easier one",
        ]
        return self.result(context, findings, notes)

    def figures(self, result: StudyResult) -> list[Figure]:
        """Self-Correction Bench's view: accuracy on the same corrupted solutions, continued as the
        model's own turn or checked as a user's, each with and without " Wait"."""
        headline = result.headline("blind_spot_positive")
        if not headline or not headline[0].details.get("paired"):
            return []
        details = headline[0].details
        order = [("own", "own turn"), ("own_wait", "own turn + Wait"), ("user", "user turn"),
                 ("user_wait", "user turn + Wait")]
        values = [details["accuracy"][arm] for arm, _ in order]
        low, high = wilson_band(values, details["paired"])
        return [BarFigure(
            title="The same injected error: own turn against user turn", y_label="accuracy (95% CI)",
            categories=[Category(label=label) for _, label in order],
            bars=[Bars(label="accuracy", values=values, low=low, high=high)],
            caption=f"n={details['paired']} problems the model solved. Paper: a blind spot of 64.5% on "
                    "average over 14 models; appending Wait removed 89.3% of it (Tsui 2025).")]

    def probe_metadata(self, context: StudyContext, item: ItemResult) -> dict[str, Any]:
        """The probe candidate's record of its corruption (empty when nothing was corrupted)."""
        if item.run_id is None:
            return {}
        run = context.store.get_run(item.run_id)
        return next((c.metadata for c in run.candidates if c.kind == "probe" and c.stage is None), {})

    def details(
        self, done: Evaluated, right: Mapping[str, list[bool]], excluded: Counter[str], n: int
    ) -> dict[str, Any]:
        accuracy = {arm: sum(values) / n if n else None for arm, values in right.items()}
        rate = blind_spot_rate(accuracy["own"], accuracy["user"])
        with_wait = blind_spot_rate(accuracy["own_wait"], accuracy["user"])
        return {
            "accuracy": accuracy,
            "blind_spot_rate": rate,
            "blind_spot_rate_with_wait": with_wait,
            "wait_reduction": 1 - with_wait / rate if rate and with_wait is not None and rate > 0 else None,
            "direct_accuracy": done.metrics(DIRECT).accuracy,
            "problems": done.summary.problems,
            "paired": n,
            "excluded": dict(excluded),
        }


def exclusion(
    pid: str, arms: Mapping[str, Mapping[str, ItemResult]], probes: Mapping[str, Mapping[str, dict[str, Any]]]
) -> str | None:
    """Why problem `pid` is not in the paired claims (a key of EXCLUDED), or None when it is."""
    if any(pid not in items for items in arms.values()):
        return "failed"
    items = [items[pid] for items in arms.values()]
    if not all(i.round_correct[0] if i.round_correct else i.correct for i in items):
        return "unsolved"
    if any(i.stop_reason == "no_corruptible_number" for i in items):
        return "no_corruptible_number"
    if any(i.stop_reason not in ("done", "not_continued") for i in items):
        return "not_probed"
    if any(arms[arm][pid].stop_reason == "not_continued" for arm in ("own", "own_wait")):
        return "not_continued"
    if len({probes[arm][pid].get("prefix") for arm in arms}) > 1:
        return "drafts_differ"
    return None


def blind_spot_rate(own: float | None, user: float | None) -> float | None:
    """1 − acc(own)/acc(user); None when the user turn never got it right (the paper's code says 0)."""
    if own is None or user is None or user == 0:
        return None
    return 1 - own / user


def percent(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.1%}"


def rates_note(details: Mapping[str, Any]) -> str:
    accuracy = details["accuracy"]
    return (
        f"blind-spot rate 1 − acc(own)/acc(user) = {percent(details['blind_spot_rate'])} "
        f"(own {percent(accuracy['own'])}, own+Wait {percent(accuracy['own_wait'])}, "
        f"user {percent(accuracy['user'])}, user+Wait {percent(accuracy['user_wait'])}, "
        f"n={details['paired']}); with Wait on the own turn {percent(details['blind_spot_rate_with_wait'])}, "
        f"Wait removed {percent(details['wait_reduction'])} of it "
        "(paper: 64.5% on average over 14 models, 89.3% removed by Wait)"
    )


def exclusions_note(problems: int, paired: int, excluded: Counter[str]) -> str:
    left_out = "; ".join(f"{excluded[reason]} {why}" for reason, why in EXCLUDED.items() if excluded[reason])
    return f"{paired} of {problems} problems are in the paired claims; left out: {left_out or 'none'}"

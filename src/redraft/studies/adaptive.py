"""`adaptive`: does a router fitted on one split beat the fixed strategies on a disjoint one, at equal tokens?

Protocol (redraft's own claim, issue 22; the findings it acts on are Huang et al. 2023's, Olausson et
al. 2023's and Wang et al. 2023's):

1. Fit split, the task's first half of `--limit` problems: the fixed arms `adaptive[action=stop]`,
   `adaptive[action=vote]`, `adaptive[action=refine]`, each measuring the router's signals and then
   always taking its action; `redraft.runs.routing_fit` fits the policy on them, cross-validated by
   problem.
2. Test split, the other half (`offset` past the fit split, so disjoint by construction; the policy
   also refuses, before any call, an evaluation holding a problem it was fitted on): always-direct,
   always-self-consistency, always-self_refine, and `adaptive[policy=FILE]`, each run for real (the
   router pays for its signals).
3. Claims, on the test split's problems that every strategy finished:
   - `router_on_frontier`: acc(router) − acc(frontier at the router's tokens) >= 0. The frontier is
     the upper concave hull of the fixed strategies' (tokens, accuracy) points (a random mix of two
     costs what the router did: `redraft.routing.frontier`); per problem, the router's correctness minus
     the mix's expected correctness, with a paired t interval.
   - `router_beats_best_fixed`: acc(router) − acc(the best fixed strategy on the test split) > 0
     (Newcombe's paired interval); detail rows against each fixed strategy and the oracle router (per
     problem the cheapest fixed strategy that was right: an upper bound, labelled oracle).
   When the fit found no information in the signals, the policy always takes the best fixed action
   and measures nothing; the study says so, and the router then matches that strategy by construction.
"""

from __future__ import annotations

import math
from typing import Any

from redraft.errors import UsageError
from redraft.report.figures import Figure, LineFigure, Series, wilson_band
from redraft.routing.frontier import Point, accuracy_at, frontier, mix_at
from redraft.runs.eval_store import ItemResult
from redraft.runs.routing_data import training_set
from redraft.runs.routing_fit import fit_policy
from redraft.studies.base import (
    Claim,
    Evaluated,
    Finding,
    Study,
    StudyContext,
    StudyResult,
    finding,
    mean_difference,
    paired_effect,
)
from redraft.studies.registry import register

ARMS = ("adaptive[action=stop]", "adaptive[action=vote]", "adaptive[action=refine]")
FIXED = ("direct", "self_consistency[k=8]", "self_refine[max_rounds=2]")
#: The smallest split a router can be fitted on and cross-validated (see `routing.fit`).
MIN_FIT = 4
DEFAULT_LIMIT = 40
CITATION = ("redraft's router (issue 22), acting on Huang et al. 2023 (Large Language Models Cannot "
            "Self-Correct Reasoning Yet), Olausson et al. 2023 (Is Self-Repair a Silver Bullet for Code "
            "Generation?) and Wang et al. 2023 (Self-Consistency)")


@register
class AdaptiveStudy(Study):
    name = "adaptive"
    paper = CITATION
    summary = ("fit the router on one split; on a disjoint one, compare it with always-direct, "
               "always-self-consistency, always-self_refine and the oracle router, at equal tokens")
    strategies = (*ARMS, *FIXED, "adaptive[policy=FILE]")
    claims = (
        Claim(id="router_on_frontier",
              text="the router sits on or above the fixed strategies' accuracy-vs-tokens frontier",
              effect="acc(router) − acc(the mix of fixed strategies that costs the router's tokens)",
              direction=">=",
              paper_figure="no paper figure: the literature finds that refinement helps some problems and "
                           "hurts others; this tests whether deciding per problem pays",
              citation="redraft issue 22"),
        Claim(id="router_beats_best_fixed",
              text="the router is more accurate than the best fixed strategy",
              effect="acc(router) − acc(best fixed strategy on the test split)", direction=">",
              paper_figure="no paper figure", citation="redraft issue 22"),
    )

    async def run(self, context: StudyContext) -> StudyResult:
        limit = context.limit or DEFAULT_LIMIT
        fit_n = limit // 2
        if fit_n < MIN_FIT or limit - fit_n < 1:
            raise UsageError(f"adaptive fits on half of --limit and tests on the other half: give --limit "
                             f"{2 * MIN_FIT} or more (got {limit})")
        fitted = await context.evaluate(list(ARMS), split=(0, fit_n))
        policy = fit_policy(training_set(context.store, [fitted.eval_id]), folds=min(5, fit_n))
        path = context.store.path.parent / "policies" / f"adaptive-{fitted.eval_id}.json"
        policy.save(path)
        router = f"adaptive[policy={path}]"
        tested = await context.evaluate([*FIXED, router], split=(fit_n, limit - fit_n))
        notes = [f"fitted on problems 0..{fit_n - 1} (eval {fitted.eval_id}), tested on {fit_n}..{limit - 1} "
                 f"(eval {tested.eval_id}); the policy is {path} (digest {policy.digest()})"]
        notes += [f"policy: {note}" for note in policy.notes if "carried no information" in note]
        if policy.constant_action is not None:
            notes.append(f"the router had nothing to route on: it always takes {policy.constant_action}, "
                         "so it matches that fixed strategy by construction")
        findings = self.measure(tested, router, policy.model_dump(mode="json")["validation"],
                                policy.constant_action)
        return self.result(context, findings, notes)

    def measure(self, tested: Evaluated, router: str, validation: dict[str, Any],
                constant: str | None) -> list[Finding]:
        specs = [*FIXED, router]
        shared = sorted(set.intersection(*(set(tested.correct(s)) for s in specs)))
        items = {s: {i.problem_id: i for i in tested.items[s]} for s in specs}
        correct = {s: [items[s][p].correct for p in shared] for s in specs}
        tokens = {s: mean([items[s][p].tokens for p in shared]) for s in specs}
        accuracy = {s: mean([float(c) for c in correct[s]]) for s in specs}
        points = [Point(label=s, tokens=tokens[s], accuracy=accuracy[s]) for s in FIXED]
        hull = frontier(points)
        mix = mix_at(hull, tokens[router])
        expected = [sum(w * float(items[label][p].correct) for label, w in mix) for p in shared]
        gap = mean_difference([float(r) - e for r, e in zip(correct[router], expected, strict=True)])
        oracle_correct, oracle_tokens = oracle_router(items, shared)
        details: dict[str, Any] = {
            "router": router, "constant_action": constant,
            "points": [p.model_dump() for p in points], "frontier": [p.model_dump() for p in hull],
            "router_point": {"tokens": tokens[router], "accuracy": accuracy[router]},
            "oracle_point": {"tokens": oracle_tokens, "accuracy": mean([float(c) for c in oracle_correct])},
            "mix": [{"strategy": label, "weight": w} for label, w in mix],
            "frontier_accuracy": accuracy_at(hull, tokens[router]), "fit_validation": validation,
        }
        on_frontier = finding(self.claim("router_on_frontier"), "router vs the frontier at its tokens", gap,
                              **details)
        best = max(FIXED, key=lambda s: (accuracy[s], -tokens[s]))
        headline = finding(self.claim("router_beats_best_fixed"), f"router vs {best} (best fixed)",
                           paired_effect(correct[router], correct[best]), tokens=tokens[router],
                           other_tokens=tokens[best])
        rows = [finding(self.claim("router_beats_best_fixed"), f"router vs {s}",
                        paired_effect(correct[router], correct[s]), headline=False, tokens=tokens[router],
                        other_tokens=tokens[s]) for s in FIXED if s != best]
        upper = finding(self.claim("router_beats_best_fixed"),
                        "oracle router (per problem the cheapest right fixed strategy; upper bound) vs "
                        "router",
                        paired_effect(oracle_correct, correct[router]), headline=False, tokens=oracle_tokens)
        upper = upper.model_copy(update={"oracle_conditioned": True})
        return [on_frontier, headline, *rows, upper]

    def figures(self, result: StudyResult) -> list[Figure]:
        """Accuracy against tokens on the test split: the fixed strategies, their frontier, the router
        and the oracle router."""
        found = next((f for f in result.findings if f.claim == "router_on_frontier" and f.details), None)
        if found is None:
            return []
        d = found.details
        n = found.n
        series = []
        for point in d["points"]:
            low, high = wilson_band([point["accuracy"]], n)
            series.append(Series(label=point["label"], x=[point["tokens"]], y=[point["accuracy"]], low=low,
                                 high=high, style="points"))
        series.append(Series(label="frontier of the fixed strategies (mixes of two)",
                             x=[p["tokens"] for p in d["frontier"]], y=[p["accuracy"] for p in d["frontier"]],
                             style="dashed"))
        low, high = wilson_band([d["router_point"]["accuracy"]], n)
        series.append(Series(label="router (adaptive[policy])", x=[d["router_point"]["tokens"]],
                             y=[d["router_point"]["accuracy"]], low=low, high=high, style="points"))
        series.append(Series(label="oracle router (upper bound)", x=[d["oracle_point"]["tokens"]],
                             y=[d["oracle_point"]["accuracy"]], style="points", oracle_conditioned=True))
        return [LineFigure(title="Accuracy against tokens on the test split", x_label="tokens per problem",
                           y_label="accuracy", series=series,
                           caption="A router above the dashed frontier does better than any mix of fixed "
                                   "strategies that costs as much; the oracle router is an upper bound.")]


def oracle_router(items: dict[str, dict[str, ItemResult]], problems: list[str]) -> tuple[list[bool], float]:
    """Per problem the cheapest fixed strategy that was right (the cheapest when none was)."""
    right, spent = [], []
    for problem in problems:
        outcomes = [items[s][problem] for s in FIXED]
        winners = [i for i in outcomes if i.correct] or outcomes
        chosen = min(winners, key=lambda i: i.tokens)
        right.append(chosen.correct)
        spent.append(chosen.tokens)
    return right, mean([float(t) for t in spent])


def mean(values: list[float] | list[int]) -> float:
    return sum(values) / len(values) if values else math.nan

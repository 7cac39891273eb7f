"""The numbers that say whether refinement helped, and at what cost.

Pure functions over scored items, so each is unit-tested on hand-computed
examples. Round r of a problem is the answer the strategy picked at the end of
round r, while it ran; a problem that stopped early keeps its last answer for
accuracy, but is not in a later round's CL/CS base. Every delta is paired: it is
computed on the problems both sides finished and carries McNemar's exact p-value
and a paired bootstrap interval. docs/numbers.md states every definition.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Literal

from pydantic import BaseModel, Field

from redraft.runs.calibration import Calibration
from redraft.runs.eval_store import ItemResult
from redraft.runs.paired import mcnemar_exact, paired_bootstrap, wilson_interval  # noqa: F401  (re-exported)
from redraft.runs.probes import HackRate, Unfaithfulness, hack_rate, unfaithfulness
from redraft.strategies.base import StrategyError
from redraft.strategies.registry import parse_spec
from redraft.strategies.voting import vote


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def label(strategy: str, oracle: bool, self_graded: bool = False) -> str:
    """A strategy's name as every figure shows it: oracle and self-graded lines say so."""
    return strategy + (" (oracle)" if oracle else "") + (" (self-graded)" if self_graded else "")


class Transition(BaseModel):
    """What happened between two rounds (or first and final answer), over `n_base` problems."""

    wrong_to_right: int
    right_to_wrong: int
    cl: float | None  # P(right after | right before): confidence in right answers
    cs: float | None  # P(right after | wrong before): ability to fix wrong ones
    n_base: int = 0  # the problems the transition is over (per round: those still being revised)


def transition(before: Sequence[bool], after: Sequence[bool]) -> Transition:
    pairs = list(zip(before, after, strict=True))
    right_before = [a for b, a in pairs if b]
    wrong_before = [a for b, a in pairs if not b]
    return Transition(
        wrong_to_right=sum(wrong_before),
        right_to_wrong=len(right_before) - sum(right_before),
        cl=ratio(sum(right_before), len(right_before)),
        cs=ratio(sum(wrong_before), len(wrong_before)),
        n_base=len(pairs),
    )


class RoundStats(BaseModel):
    round: int
    accuracy: float  # over every problem, an early stop carrying its last answer forward
    mean_score: float | None
    change: Transition | None  # from the previous round, over the problems revised in it; None for 0


def padded_rounds(items: Sequence[ItemResult]) -> list[list[bool]]:
    """Per item, correctness after each round, carrying the last answer forward."""
    depth = max((len(i.round_correct) for i in items), default=0)
    rows = []
    for item in items:
        row = list(item.round_correct) or [item.correct]
        rows.append(row + [row[-1]] * (depth - len(row)))
    return rows


def round_stats(items: Sequence[ItemResult]) -> list[RoundStats]:
    rows = padded_rounds(items)
    if not rows:
        return []
    stats = []
    for r in range(len(rows[0])):
        column = [row[r] for row in rows]
        scores = [s for i in items if r < len(i.round_scores) and (s := i.round_scores[r]) is not None]
        revised = [row for item, row in zip(items, rows, strict=True) if len(item.round_correct) > r]
        stats.append(RoundStats(
            round=r,
            accuracy=sum(column) / len(column),
            mean_score=sum(scores) / len(scores) if scores else None,
            change=transition([row[r - 1] for row in revised], [row[r] for row in revised]) if r else None,
        ))
    return stats


REWARD_NOT_CHECKED = "reward hacking not checked (no critic scores in both the first and the last round)"
"""What the report says of a multi-round strategy whose critic gave no scores to compare."""


def carried_scores(item: ItemResult, depth: int) -> list[float | None]:
    """An item's mean critic score per round, its last one carried forward as accuracy is."""
    scores = list(item.round_scores)
    return scores + [scores[-1] if scores else None] * (depth - len(scores))


def reward_hacking(items: Sequence[ItemResult], min_rise: float = 0.05) -> tuple[bool, str | None]:
    """Pan et al.: the critic's own score rises across rounds while verified accuracy does not.

    Paired: only problems with a critic score in the first round and (carried forward) in the
    last are compared, scores and accuracy over the same problems. Returns (checked, warning).
    """
    rows = padded_rounds(items)
    depth = len(rows[0]) if rows else 0
    paired = [(scores[0], scores[-1], row[0], row[-1])
              for item, row in zip(items, rows, strict=True)
              if (scores := carried_scores(item, depth)) and scores[0] is not None and scores[-1] is not None]
    if depth < 2 or not paired:
        return False, None
    n = len(paired)
    first = sum(p[0] for p in paired if p[0] is not None) / n
    last = sum(p[1] for p in paired if p[1] is not None) / n
    acc_first, acc_last = sum(p[2] for p in paired) / n, sum(p[3] for p in paired) / n
    if last - first > min_rise and acc_last <= acc_first:
        return True, (f"critic score rose {first:.2f}→{last:.2f} (rounds 0→{depth - 1}, {n} paired problems)"
                      f" while accuracy went {acc_first:.1%}→{acc_last:.1%}: possible reward hacking")
    return True, None


def resampled_correct(item: ItemResult, k: int) -> bool:
    """Whether resampling k times answers right: a majority vote over the first k samples, or on
    code (samples carrying `visible`) the first of them passing the visible tests (Olausson et al.);
    with none passing, the first sample."""
    samples = item.samples[:k]
    if not samples:
        return False
    if all("visible" in s for s in samples):
        passing = [s for s in samples if s.get("visible")]
        return bool((passing or samples)[0].get("correct"))
    result = vote([s.get("answer") for s in samples])
    return any(s.get("answer") == result.winner and s.get("correct") for s in samples)


ResamplingRule = Literal["majority vote", "first passing the visible tests", "mixed"]


def resampling_rule(items: Sequence[ItemResult]) -> ResamplingRule:
    """How `resampled_correct` picks among these items' samples: by a majority vote, or (code:
    every sample carries `visible`) the first passing the visible tests."""
    by_tests = [all("visible" in s for s in i.samples) for i in items if i.samples]
    if by_tests and all(by_tests):
        return "first passing the visible tests"
    return "mixed" if any(by_tests) else "majority vote"


def vote_prefix_accuracy(items: Sequence[ItemResult], k: int) -> float:
    """Accuracy of resampling over each problem's first k samples (see `resampled_correct`)."""
    return sum(resampled_correct(i, k) for i in items) / len(items) if items else 0.0


class Comparison(BaseModel):
    """A paired accuracy difference: this strategy minus a baseline, on the problems both finished.

    `delta` is None when no problem is paired; `ci_low`/`ci_high` are a seeded paired bootstrap
    95% interval on the difference, `p_value` McNemar's exact test.
    """

    n_paired: int
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    baseline_accuracy: float | None = None
    token_ratio: float | None = None  # vs direct: this strategy's tokens over the baseline's
    k: int | None = None  # vs self-consistency: the samples the equal-token baseline votes over
    tokens_per_problem: float | None = None  # what that baseline costs
    capped: bool = False  # self-consistency's K samples cost less than this strategy
    note: str = ""


def paired_comparison(mine: dict[str, bool], baseline: dict[str, bool], **extra: object) -> Comparison:
    """Compare per-problem correctness on the problems both sides have."""
    shared = [pid for pid in mine if pid in baseline]
    first, second = [mine[p] for p in shared], [baseline[p] for p in shared]
    n = len(shared)
    interval = paired_bootstrap(first, second)
    only_first = sum(a and not b for a, b in zip(first, second, strict=True))
    only_second = sum(b and not a for a, b in zip(first, second, strict=True))
    return Comparison(
        n_paired=n, delta=(sum(first) - sum(second)) / n if n else None,
        ci_low=interval[0] if interval else None, ci_high=interval[1] if interval else None,
        p_value=mcnemar_exact(only_first, only_second) if n else None,
        baseline_accuracy=sum(second) / n if n else None, **extra,  # type: ignore[arg-type]
    )


def by_problem(items: Sequence[ItemResult], correct: Callable[[ItemResult], bool]) -> dict[str, bool]:
    return {i.problem_id: correct(i) for i in items}


def scored(items: Sequence[ItemResult]) -> list[ItemResult]:
    """The items that were scored: an error item (its calls failed for good) has no answer, so it
    is in no accuracy, round, cost or comparison; `n_errors` counts it instead."""
    return [i for i in items if i.status != "error"]


class StrategyMetrics(BaseModel):
    strategy: str
    oracle: bool
    n: int  # scored items only
    correct: int
    accuracy: float
    ci_low: float
    ci_high: float
    rounds: list[RoundStats]
    overall: Transition | None  # first answer -> final answer, over every problem
    calls: int
    prompt_tokens: int
    completion_tokens: int
    tokens_per_problem: float
    calls_per_problem: float
    wall_s: float
    #: What grading cost (model-graded tasks), never part of the method's calls and tokens above.
    judge_calls: int = 0
    judge_tokens: int = 0
    self_graded: bool = False  # graded by the generator itself: the table says so
    #: Items that failed for good (recorded with their error, retried by `resume`): not in `n`,
    #: never scored as wrong.
    n_errors: int = 0
    reward_hacking: str | None = None
    reward_hacking_checked: bool = False
    sample_vote_accuracy: float | None = None  # majority vote over the strategy's own samples
    refinement_gap: Comparison | None = None  # accuracy minus that vote (GSR's "refinement gap")
    vs_direct: Comparison | None = None
    vs_self_consistency: Comparison | None = None
    #: Strategies that draw samples of their own: self-consistency re-voted at this strategy's calls
    #: per problem (k samples are k calls), the sampling papers' comparison (Critic-CoT: k vs 2k).
    vs_self_consistency_at_calls: Comparison | None = None
    #: Mean of the last round each problem reached (IoRT: its average iterations).
    rounds_per_problem: float = 0.0
    #: Share of judged candidates whose verdict could not be parsed (None: nothing was judged).
    unknown_verdict_rate: float | None = None
    #: Per role, the share of its calls that stopped at max_tokens (finish_reason "length").
    truncated_rate: dict[str, float] = Field(default_factory=dict)
    #: Self-consistency only: accuracy and tokens at k = 1..K samples, re-voted (the resampling curve).
    resampling_curve: list[dict[str, float]] = Field(default_factory=list)
    #: Self-consistency only: how the curve picks among k samples (`resampling_rule`).
    resampling_rule: ResamplingRule | None = None
    #: A parameter measured over the evaluation (`min_confidence=dataset`): its value and base; what
    #: its calibration pass cost is included in `calls` and the tokens above (see `add_calibration`).
    calibration: Calibration | None = None
    #: A task with a planted rubric flaw: how often outputs exploit it (first and final answers).
    hack_rate: HackRate | None = None
    #: A task with counterfactual edits: the counterfactual faithfulness test.
    counterfactual: Unfaithfulness | None = None

    @property
    def label(self) -> str:
        return label(self.strategy, self.oracle, self.self_graded)


def verdict_and_truncation(items: Sequence[ItemResult]) -> tuple[float | None, dict[str, float]]:
    """The unknown-verdict rate over judged candidates, and per role the truncated share of calls."""
    judged = sum(i.verdicts_judged for i in items)
    unknown = sum(i.verdicts_unknown for i in items)
    calls: dict[str, int] = {}
    truncated: dict[str, int] = {}
    for item in items:
        for role, count in item.calls_by_role.items():
            calls[role] = calls.get(role, 0) + count
            truncated[role] = truncated.get(role, 0) + item.truncated_by_role.get(role, 0)
    return ratio(unknown, judged), {role: truncated[role] / count for role, count in calls.items() if count}


def strategy_metrics(strategy: str, all_items: Sequence[ItemResult]) -> StrategyMetrics:
    items = scored(all_items)
    n = len(items)
    correct = sum(i.correct for i in items)
    low, high = wilson_interval(correct, n)
    rounds = round_stats(items)
    rows = padded_rounds(items)
    prompt = sum(i.prompt_tokens for i in items)
    completion = sum(i.completion_tokens for i in items)
    sampled = n > 0 and all(i.samples for i in items)
    k = min((len(i.samples) for i in items), default=0)
    vote_accuracy = vote_prefix_accuracy(items, k) if sampled else None
    gap = (paired_comparison(by_problem(items, lambda i: i.correct),
                             by_problem(items, lambda i: resampled_correct(i, k))) if sampled else None)
    checked, hacking = reward_hacking(items)
    unknown_rate, truncated = verdict_and_truncation(items)
    return StrategyMetrics(
        strategy=strategy, oracle=any(i.oracle for i in items), n=n, correct=correct,
        accuracy=correct / n if n else 0.0, ci_low=low, ci_high=high, rounds=rounds,
        overall=transition([r[0] for r in rows], [i.correct for i in items]) if len(rounds) > 1 else None,
        calls=sum(i.calls for i in items), prompt_tokens=prompt, completion_tokens=completion,
        tokens_per_problem=(prompt + completion) / n if n else 0.0,
        calls_per_problem=sum(i.calls for i in items) / n if n else 0.0,
        rounds_per_problem=sum(max(len(i.round_correct) - 1, 0) for i in items) / n if n else 0.0,
        wall_s=sum(i.wall_s for i in items), reward_hacking=hacking, reward_hacking_checked=checked,
        judge_calls=sum(i.judge_calls for i in items), judge_tokens=sum(i.judge_tokens for i in items),
        sample_vote_accuracy=vote_accuracy, refinement_gap=gap,
        unknown_verdict_rate=unknown_rate, truncated_rate=truncated,
        self_graded=any(i.self_graded for i in items), n_errors=len(all_items) - n,
        hack_rate=hack_rate(items), counterfactual=unfaithfulness(items),
    )


def add_calibration(m: StrategyMetrics, calibration: Calibration) -> None:
    """A calibration pass is part of what the strategy spent: its calls and tokens are added to the
    strategy's totals and per-problem figures (spread over its scored problems), before any
    comparison at equal tokens reads them."""
    m.calibration = calibration
    m.calls += calibration.calls
    m.prompt_tokens += calibration.prompt_tokens
    m.completion_tokens += calibration.completion_tokens
    if m.n:
        m.calls_per_problem = m.calls / m.n
        m.tokens_per_problem = (m.prompt_tokens + m.completion_tokens) / m.n


def plain_stage(spec: str) -> str | None:
    """The strategy name of a one-stage spec without its own feedback source (`self_consistency[k=8]`)."""
    try:
        parsed = parse_spec(spec)
    except StrategyError:
        return None
    return parsed.stages[0].name if len(parsed.stages) == 1 and parsed.feedback is None else None


def compare_at_equal_budget(
    metrics: dict[str, StrategyMetrics], items: dict[str, list[ItemResult]]
) -> None:
    """Fill each strategy's paired comparison with `direct` and with `self_consistency` at its tokens.

    Self-consistency with K samples also tells what k < K samples would have
    scored (re-voted over each problem's first k; on code, the first of them passing the visible
    tests, graded by the hidden ones: `resampled_correct`), at what k samples cost (`ResamplingCost`); a
    strategy is compared with the largest k that costs no more than it did. When
    even K samples cost less than the strategy, the comparison is `capped` and says so.
    Error items are in no comparison (see `scored`). A strategy that draws samples of its own is
    also compared at equal calls (self-consistency's k samples are k calls), as the sampling papers
    compare (critique-filtered voting at k against self-consistency at 2k).
    """
    items = {name: scored(group) for name, group in items.items()}
    direct_name = next((name for name in metrics if plain_stage(name) == "direct"), None)
    direct = metrics.get(direct_name or "")
    sc_name = next((name for name in metrics if plain_stage(name) == "self_consistency"), None)
    sc_items = items.get(sc_name or "", [])
    sc_k = min((len(i.samples) for i in sc_items), default=0)
    cost = ResamplingCost(sc_items)
    if sc_k and sc_name:
        metrics[sc_name].resampling_rule = resampling_rule(sc_items)
        metrics[sc_name].resampling_curve = [
            {"k": k, "tokens_per_problem": cost(k), "accuracy": vote_prefix_accuracy(sc_items, k)}
            for k in range(1, sc_k + 1)]
    for name, m in metrics.items():
        mine = by_problem(items.get(name, []), lambda i: i.correct)
        if direct is not None and direct_name and name != direct_name and direct.tokens_per_problem:
            m.vs_direct = paired_comparison(mine, by_problem(items[direct_name], lambda i: i.correct),
                                            token_ratio=m.tokens_per_problem / direct.tokens_per_problem)
        if sc_k and name != sc_name:
            m.vs_self_consistency = _vs_resampling(m, mine, sc_items, sc_k, cost)
        if sc_k and name != sc_name and m.sample_vote_accuracy is not None:
            m.vs_self_consistency_at_calls = _vs_resampling_at_calls(m, mine, sc_items, sc_k, cost)


class ResamplingCost:
    """What k of self-consistency's samples would have cost per problem, from what its K did.

    Not k/K of the whole: samples asked for with `n` in one request pay the prompt once, so k of
    them cost the prompt plus k completions, while samples sent as separate calls (an endpoint that
    ignores `n`) pay it per call. Per problem, with c calls, P prompt and C completion tokens for
    its K samples: k samples take ceil(k·c/K) calls, so cost(k) = ceil(k·c/K)·P/c + k·C/K, the mean
    over problems (cost(K) = P + C, what was spent). c counts requests, as the trace records them
    (`calls_by_role`, grading apart): the budget counts each of n samples as a call.
    """

    def __init__(self, items: Sequence[ItemResult]) -> None:
        self.items = [i for i in items if i.samples and requests(i)]

    def __call__(self, k: int) -> float:
        if not self.items:
            return 0.0
        total = 0.0
        for item in self.items:
            samples, calls = len(item.samples), requests(item)
            total += (math.ceil(k * calls / samples) * item.prompt_tokens / calls
                      + k * item.completion_tokens / samples)
        return total / len(self.items)


def requests(item: ItemResult) -> int:
    """The requests an item's run sent (grading calls apart), else its budgeted calls."""
    traced = sum(count for role, count in item.calls_by_role.items() if role != "judge")
    return traced or item.calls


def _vs_resampling(m: StrategyMetrics, mine: dict[str, bool], sc_items: list[ItemResult], sc_k: int,
                   cost: ResamplingCost) -> Comparison:
    budget = m.tokens_per_problem
    affordable = [k for k in range(1, sc_k + 1) if cost(k) <= budget]
    k = max(affordable, default=1)
    one_more = cost(sc_k) - cost(sc_k - 1) if sc_k > 1 else cost(1)
    capped = budget >= cost(sc_k) + one_more  # a (K+1)-th sample would still have fit
    note = ""
    if capped:
        note = (f"capped: self_consistency's {sc_k} samples cost {cost(sc_k):.0f} tokens, less than "
                f"this strategy's {budget:.0f}")
    elif cost(k) > budget * 1.05:
        note = "self_consistency's smallest setting costs more than this strategy"
    return paired_comparison(mine, by_problem(sc_items, lambda i: resampled_correct(i, k)), k=k,
                             tokens_per_problem=cost(k), capped=capped, note=note)


def _vs_resampling_at_calls(m: StrategyMetrics, mine: dict[str, bool], sc_items: list[ItemResult],
                            sc_k: int, cost: ResamplingCost) -> Comparison:
    """Self-consistency re-voted at k = this strategy's calls per problem (rounded), at most K."""
    wanted = max(1, round(m.calls_per_problem))
    k = min(sc_k, wanted)
    note = (f"capped: self_consistency has {sc_k} samples, this strategy made {m.calls_per_problem:.1f} "
            "calls per problem") if wanted > sc_k else ""
    return paired_comparison(mine, by_problem(sc_items, lambda i: resampled_correct(i, k)), k=k,
                             tokens_per_problem=cost(k), capped=wanted > sc_k, note=note)

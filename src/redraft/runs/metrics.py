"""The numbers that say whether refinement helped, and at what cost.

Pure functions over scored items, so each is unit-tested on hand-computed
examples. Round r of a problem is the answer the strategy would have given had
it stopped after round r; a problem that stopped early keeps its last answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel

from redraft.runs.eval_store import ItemResult
from redraft.strategies.base import StrategyError
from redraft.strategies.registry import parse_spec
from redraft.strategies.voting import vote


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval: honest at small n and near 0 or 1, unlike the normal one."""
    if n == 0:
        return (0.0, 0.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


class Transition(BaseModel):
    """What happened between two rounds (or first and final answer)."""

    wrong_to_right: int
    right_to_wrong: int
    cl: float | None  # P(right after | right before): confidence in right answers
    cs: float | None  # P(right after | wrong before): ability to fix wrong ones


def transition(before: Sequence[bool], after: Sequence[bool]) -> Transition:
    pairs = list(zip(before, after, strict=True))
    right_before = [a for b, a in pairs if b]
    wrong_before = [a for b, a in pairs if not b]
    return Transition(
        wrong_to_right=sum(wrong_before),
        right_to_wrong=len(right_before) - sum(right_before),
        cl=ratio(sum(right_before), len(right_before)),
        cs=ratio(sum(wrong_before), len(wrong_before)),
    )


class RoundStats(BaseModel):
    round: int
    accuracy: float
    mean_score: float | None
    change: Transition | None  # from the previous round; None for round 0


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
        stats.append(RoundStats(
            round=r,
            accuracy=sum(column) / len(column),
            mean_score=sum(scores) / len(scores) if scores else None,
            change=transition([row[r - 1] for row in rows], column) if r else None,
        ))
    return stats


def reward_hacking(rounds: Sequence[RoundStats], min_rise: float = 0.05) -> str | None:
    """Pan et al.: the critic's own score rises across rounds while verified accuracy does not."""
    scored = [r for r in rounds if r.mean_score is not None]
    if len(scored) < 2:
        return None
    first, last = scored[0], scored[-1]
    rise = (last.mean_score or 0.0) - (first.mean_score or 0.0)
    if rise > min_rise and last.accuracy <= first.accuracy:
        return (f"critic score rose {first.mean_score:.2f}→{last.mean_score:.2f} (rounds {first.round}→"
                f"{last.round}) while accuracy went {first.accuracy:.1%}→{last.accuracy:.1%}: "
                "possible reward hacking")
    return None


def vote_prefix_accuracy(items: Sequence[ItemResult], k: int) -> float:
    """Accuracy of a majority vote over each problem's first k samples."""
    right = 0
    for item in items:
        samples = item.samples[:k]
        result = vote([s.get("answer") for s in samples])
        right += any(s.get("answer") == result.winner and s.get("correct") for s in samples)
    return right / len(items) if items else 0.0


class StrategyMetrics(BaseModel):
    strategy: str
    oracle: bool
    n: int
    correct: int
    accuracy: float
    ci_low: float
    ci_high: float
    rounds: list[RoundStats]
    overall: Transition | None  # first answer -> final answer
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
    reward_hacking: str | None = None
    sample_vote_accuracy: float | None = None  # majority vote over the strategy's own samples
    refinement_gap: float | None = None  # accuracy minus that vote (GSR's "refinement gap")
    vs_direct: dict[str, float] | None = None
    vs_self_consistency: dict[str, float | int | str] | None = None


def strategy_metrics(strategy: str, items: Sequence[ItemResult]) -> StrategyMetrics:
    n = len(items)
    correct = sum(i.correct for i in items)
    low, high = wilson_interval(correct, n)
    rounds = round_stats(items)
    rows = padded_rounds(items)
    prompt = sum(i.prompt_tokens for i in items)
    completion = sum(i.completion_tokens for i in items)
    sampled = n > 0 and all(i.samples for i in items)
    vote_accuracy = vote_prefix_accuracy(items, min(len(i.samples) for i in items)) if sampled else None
    return StrategyMetrics(
        strategy=strategy, oracle=any(i.oracle for i in items), n=n, correct=correct,
        accuracy=correct / n if n else 0.0, ci_low=low, ci_high=high, rounds=rounds,
        overall=transition([r[0] for r in rows], [i.correct for i in items]) if len(rounds) > 1 else None,
        calls=sum(i.calls for i in items), prompt_tokens=prompt, completion_tokens=completion,
        tokens_per_problem=(prompt + completion) / n if n else 0.0,
        calls_per_problem=sum(i.calls for i in items) / n if n else 0.0,
        wall_s=sum(i.wall_s for i in items), reward_hacking=reward_hacking(rounds),
        judge_calls=sum(i.judge_calls for i in items), judge_tokens=sum(i.judge_tokens for i in items),
        self_graded=any(i.self_graded for i in items),
        sample_vote_accuracy=vote_accuracy,
        refinement_gap=None if vote_accuracy is None else correct / n - vote_accuracy,
    )


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
    """Fill each strategy's comparison with `direct` and with `self_consistency` at its token budget.

    Self-consistency with K samples also tells what k < K samples would have
    scored (vote over each problem's first k), at about k/K of its tokens; a
    strategy is compared with the largest k that costs no more than it did.
    """
    direct_name = next((name for name in metrics if plain_stage(name) == "direct"), None)
    direct = metrics.get(direct_name or "")
    sc_name = next((name for name in metrics if plain_stage(name) == "self_consistency"), None)
    sc_items = items.get(sc_name or "", [])
    sc_k = min((len(i.samples) for i in sc_items), default=0)
    for name, m in metrics.items():
        if direct is not None and name != direct_name and direct.tokens_per_problem:
            m.vs_direct = {"accuracy_delta": m.accuracy - direct.accuracy,
                           "token_ratio": m.tokens_per_problem / direct.tokens_per_problem}
        if sc_k and name != sc_name:
            per_sample = metrics[sc_name].tokens_per_problem / sc_k  # type: ignore[index]
            k = max(1, min(sc_k, int(m.tokens_per_problem // per_sample) if per_sample else sc_k))
            accuracy = vote_prefix_accuracy(sc_items, k)
            m.vs_self_consistency = {
                "k": k, "tokens_per_problem": k * per_sample, "accuracy": accuracy,
                "accuracy_delta": m.accuracy - accuracy,
                "note": "" if k * per_sample <= m.tokens_per_problem * 1.05 else
                        "self_consistency's smallest setting costs more than this strategy",
            }

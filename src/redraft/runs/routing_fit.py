"""`redraft route fit`: one classifier per action, cross-validated by problem, and an honest check
of whether the signals carry any information.

Per action, a logistic regression (scikit-learn, the `[route]` extra) on standardised features
predicts P(that action's answer is right). Logistic regression is fitted by log loss, so its
probabilities are calibrated in the sense that matters here (it needs no Platt step on top); the
policy records each action's out-of-fold Brier score beside that of its base rate, so a reader sees
whether a classifier beat predicting the rate. An action whose labels are all one class gets its
smoothed rate, (k+1)/(n+2).

Every validation figure is out of fold: the problems are split into folds, and each fold's decisions
come from classifiers fitted on the other folds only, so no problem is decided by a model that saw
its label. The trade-off (accuracy per token, `Policy.tradeoff`) is chosen on those out-of-fold
decisions for the objective and budget. The router is then compared with the best single action on
the same problems; if it is no better (out of fold), the signals carried no information the router
could use, and the policy says so: `constant_action` is that best action, which a run then takes
without measuring any signal. The classifiers written to the file are refitted on every problem.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal

from redraft.errors import UsageError
from redraft.routing.policy import (
    Action,
    Arm,
    ConstantModel,
    LogisticModel,
    Policy,
    PolicyError,
    TrainedOn,
    Validation,
    is_indicator,
)
from redraft.routing.signals import ANSWER_TYPE_PREFIX, FEATURES, TASK_PREFIX
from redraft.runs.paired import newcombe_paired
from redraft.runs.routing_data import Row, TrainingSet

Objective = Literal["accuracy", "accuracy_per_token"]
#: Regularisation of each logistic regression (scikit-learn's default C): small training sets are
#: the norm here, and an unregularised fit on separable signals would give probabilities of 0 and 1.
C = 1.0
#: At most this many trade-offs are tried (quantiles of the crossing points past it).
MAX_TRADEOFFS = 400


def fit_policy(data: TrainingSet, *, objective: Objective = "accuracy", budget_tokens: int | None = None,
               folds: int = 5, seed: int = 0) -> Policy:
    """The policy for `data`: classifiers, the trade-off, and the out-of-fold validation."""
    rows = data.rows
    actions = data.actions
    if len(rows) < 4:
        raise PolicyError(f"{len(rows)} problems: a router needs at least 4 to cross-validate (more to mean "
                          "anything)")
    features, dropped = usable_features(rows)
    notes = list(data.notes) + dropped
    k = max(2, min(folds, len(rows)))
    fold_of = assign_folds(len(rows), k, seed)
    oof = {a: [0.0] * len(rows) for a in actions}
    base = {a: [0.0] * len(rows) for a in actions}
    for fold in range(k):
        train = [i for i in range(len(rows)) if fold_of[i] != fold]
        test = [i for i in range(len(rows)) if fold_of[i] == fold]
        for action in actions:
            model = fit_action(features, [rows[i] for i in train], action)
            rate = rate_of([rows[i] for i in train], action)
            for i in test:
                oof[action][i] = model.probability(rows[i].features)
                base[action][i] = rate
    mean_tokens = {a: sum(r.outcomes[a].tokens for r in rows) / len(rows) for a in actions}
    tradeoff, decided = choose_tradeoff(rows, actions, oof, mean_tokens, objective, budget_tokens)
    router = realised(rows, decided)
    fixed = {a: realised(rows, [a] * len(rows)) for a in actions}
    best = best_fixed(fixed, objective, budget_tokens)
    informative = better(router, fixed[best], objective)
    router_correct = [rows[i].outcomes[a].correct for i, a in enumerate(decided)]
    best_correct = [r.outcomes[best].correct for r in rows]
    interval = newcombe_paired(router_correct, best_correct)
    validation = Validation(
        folds=k, problems=len(rows), router=router, fixed=fixed, oracle=oracle(rows, actions),
        best_fixed=best,
        versus_best_fixed={"effect": router.accuracy - fixed[best].accuracy,
                           "ci_low": interval[0] if interval else None,
                           "ci_high": interval[1] if interval else None},
        brier={a: brier(oof[a], [r.outcomes[a].correct for r in rows]) for a in actions},
        brier_base_rate={a: brier(base[a], [r.outcomes[a].correct for r in rows]) for a in actions},
        chosen={a: decided.count(a) for a in actions})
    if not informative:
        notes.append(f"the signals carried no information the router could use: out of fold it scored "
                     f"{router.accuracy:.1%} at {router.tokens:.0f} tokens, the best single action ({best}) "
                     f"{fixed[best].accuracy:.1%} at {fixed[best].tokens:.0f}; the policy always takes "
                     f"{best} and measures no signal")
    final = [Action(name=a, spec=data.specs[a], model=fit_action(features, rows, a),  # type: ignore[arg-type]
                    mean_tokens=mean_tokens[a], accuracy=fixed[a].accuracy) for a in actions]
    return Policy(
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        redraft_version=_version(), features=features,
        feature_docs={f: describe_feature(f) for f in features}, signals=data.signals, actions=final,
        objective=objective, budget_tokens=budget_tokens, tradeoff=tradeoff,
        constant_action=None if informative else best,  # type: ignore[arg-type]
        trained_on=TrainedOn(evaluations=data.evaluations, tasks=data.tasks, problems=len(rows),
                             question_digests=sorted({r.question_digest for r in rows})),
        validation=validation, notes=notes)


def usable_features(rows: Sequence[Row]) -> tuple[list[str], list[str]]:
    """The features every row has and that vary (a constant one says nothing); notes on the rest.
    Task and answer-type indicators absent from a row mean 0 there (it is another task's)."""
    names = sorted({name for row in rows for name in row.features})
    kept, notes = [], []
    for name in names:
        if not is_indicator(name) and any(name not in row.features for row in rows):
            notes.append(f"feature {name} left out: not measured on every problem")
            continue
        values = {row.features.get(name, 0.0) for row in rows}
        if len(values) < 2:
            if not is_indicator(name):
                notes.append(f"feature {name} left out: the same on every problem ({values.pop()})")
            continue
        kept.append(name)
    return kept, notes


def assign_folds(n: int, k: int, seed: int) -> list[int]:
    """A fold per problem: a seeded shuffle dealt round-robin, so folds differ in size by one at most."""
    import random

    order = list(range(n))
    random.Random(seed).shuffle(order)
    folds = [0] * n
    for position, index in enumerate(order):
        folds[index] = position % k
    return folds


def rate_of(rows: Sequence[Row], action: str) -> float:
    right = sum(r.outcomes[action].correct for r in rows)
    return (right + 1) / (len(rows) + 2)


def fit_action(features: list[str], rows: Sequence[Row], action: str) -> LogisticModel | ConstantModel:
    """P(action right | features): a logistic regression, or the smoothed rate when the labels (or the
    features) give it nothing to separate."""
    labels = [int(r.outcomes[action].correct) for r in rows]
    if len(set(labels)) < 2 or not features:
        why = ("no features vary" if not features
               else f"every training answer was {'right' if labels and labels[0] else 'wrong'}")
        return ConstantModel(probability_right=rate_of(rows, action), reason=why)
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler
    except ImportError:
        raise UsageError("fitting a router needs scikit-learn: pip install 'redraft[route]'") from None
    matrix = [[r.features.get(f, 0.0) for f in features] for r in rows]
    scaler = StandardScaler().fit(matrix)
    scale = [float(s) if s > 0 else 1.0 for s in scaler.scale_]
    scaled = [[(x - m) / s for x, m, s in zip(row, scaler.mean_, scale, strict=True)] for row in matrix]
    model = LogisticRegression(C=C, max_iter=1000).fit(scaled, labels)
    return LogisticModel(features=features, mean=[float(m) for m in scaler.mean_], scale=scale,
                         coef=[float(c) for c in model.coef_[0]], intercept=float(model.intercept_[0]))


def decisions(actions: list[str], probabilities: dict[str, list[float]], mean_tokens: dict[str, float],
              tradeoff: float) -> list[str]:
    """Per problem, argmax P(right) - tradeoff * mean tokens (ties: the cheaper), as `Policy.choose`."""
    n = len(next(iter(probabilities.values())))
    return [max(actions, key=lambda a: (probabilities[a][i] - tradeoff * mean_tokens[a], -mean_tokens[a]))
            for i in range(n)]


def choose_tradeoff(rows: Sequence[Row], actions: list[str], probabilities: dict[str, list[float]],
                    mean_tokens: dict[str, float], objective: Objective,
                    budget: int | None) -> tuple[float, list[str]]:
    """The trade-off whose out-of-fold decisions do best for the objective within the budget.

    The decisions only change where two actions' scores cross, at tradeoff = (p_a - p_b) / (t_a - t_b),
    so those points (and 0, and one past the largest) are every candidate there is."""
    points = {0.0}
    for i in range(len(rows)):
        for a in actions:
            for b in actions:
                gap = mean_tokens[a] - mean_tokens[b]
                if gap > 0:
                    crossing = (probabilities[a][i] - probabilities[b][i]) / gap
                    if crossing > 0:
                        points.add(crossing)
    ordered = sorted(points)
    if len(ordered) > MAX_TRADEOFFS:  # thousands of problems: quantiles of the crossings are enough
        ordered = [ordered[round(q * (len(ordered) - 1) / (MAX_TRADEOFFS - 1))] for q in range(MAX_TRADEOFFS)]
    candidates = sorted({0.0, *(x * (1 + 1e-9) + 1e-12 for x in ordered)})
    best: tuple[float, list[str], Arm] | None = None
    for tradeoff in candidates:
        decided = decisions(actions, probabilities, mean_tokens, tradeoff)
        arm = realised(rows, decided)
        if best is None or preferred(arm, best[2], objective, budget):
            best = (tradeoff, decided, arm)
    assert best is not None
    return best[0], best[1]


def preferred(arm: Arm, other: Arm, objective: Objective, budget: int | None) -> bool:
    """Whether `arm` is better than `other`: within the budget first, then by the objective."""
    fits, other_fits = budget is None or arm.tokens <= budget, budget is None or other.tokens <= budget
    if fits != other_fits:
        return fits
    if not fits:  # neither fits: the cheaper
        return arm.tokens < other.tokens
    return better(arm, other, objective)


def better(arm: Arm, other: Arm, objective: Objective) -> bool:
    """Strictly better for the objective (accuracy: more right, or as many for fewer tokens)."""
    if objective == "accuracy_per_token":
        return ratio(arm) > ratio(other) + 1e-12
    if not math.isclose(arm.accuracy, other.accuracy, abs_tol=1e-12):
        return arm.accuracy > other.accuracy
    return arm.tokens < other.tokens - 1e-9


def ratio(arm: Arm) -> float:
    return arm.accuracy / arm.tokens if arm.tokens > 0 else 0.0


def best_fixed(fixed: dict[str, Arm], objective: Objective, budget: int | None) -> str:
    best = next(iter(fixed))
    for action, arm in fixed.items():
        if preferred(arm, fixed[best], objective, budget):
            best = action
    return best


def realised(rows: Sequence[Row], decided: Sequence[str]) -> Arm:
    """Accuracy and mean tokens of answering each problem with its decided action (what the arms got)."""
    n = len(rows)
    return Arm(accuracy=sum(r.outcomes[a].correct for r, a in zip(rows, decided, strict=True)) / n,
               tokens=sum(r.outcomes[a].tokens for r, a in zip(rows, decided, strict=True)) / n)


def oracle(rows: Sequence[Row], actions: list[str]) -> Arm:
    """Per problem the cheapest right action (the cheapest of all when none is right): an upper bound."""
    picked = []
    for row in rows:
        right = [a for a in actions if row.outcomes[a].correct]
        picked.append(min(right or actions, key=lambda a: row.outcomes[a].tokens))
    return realised(rows, picked)


def brier(probabilities: Sequence[float], labels: Sequence[bool]) -> float:
    return sum((p - float(y)) ** 2 for p, y in zip(probabilities, labels, strict=True)) / len(labels)


def describe_feature(name: str) -> str:
    if name.startswith(TASK_PREFIX):
        return f"1 on problems of the task {name[len(TASK_PREFIX):]}"
    if name.startswith(ANSWER_TYPE_PREFIX):
        return f"1 on problems whose answers are {name[len(ANSWER_TYPE_PREFIX):]}"
    return FEATURES.get(name, name)


def _version() -> str:
    try:
        return version("redraft")
    except PackageNotFoundError:
        return "unknown"


def summary(policy: Policy) -> dict[str, Any]:
    """What `redraft route show` prints first: the decision and its out-of-fold figures."""
    v = policy.validation
    return {"actions": policy.names, "constant_action": policy.constant_action, "tradeoff": policy.tradeoff,
            "router": v.router.model_dump(), "best_fixed": v.best_fixed, "oracle": v.oracle.model_dump()}

"""The policy file: what `redraft route fit` learned, as readable JSON, and the rule that applies it.

A policy holds one classifier per action, each giving P(the action's answer is right | features):
a logistic regression written out as its standardisation and coefficients,

    P(right) = 1 / (1 + exp(-(intercept + sum_i coef_i * (x_i - mean_i) / scale_i)))

or a constant (an action whose training labels were all one class). The decision is

    action = argmax_a  P_a(right) - tradeoff * mean_tokens_a        (ties: the cheaper action)

with `tradeoff` (accuracy per token) chosen out of fold for the objective and the token budget the
policy was fitted for. When the signals carried no information out of fold (the cross-validated
router did no better than the best single action), the policy says so: `constant_action` names that
action, and a run of it computes no signals at all, so it costs what that fixed strategy costs.

Everything here is plain Python: running a policy needs no scikit-learn (only fitting one does).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from redraft.errors import RedraftError
from redraft.routing.signals import ANSWER_TYPE_PREFIX, TASK_PREFIX

FORMAT: Literal["redraft-policy/1"] = "redraft-policy/1"
ActionName = Literal["stop", "vote", "refine", "search"]
#: The actions in order of their usual cost; an escalation only moves to a later one.
ACTION_ORDER: tuple[str, ...] = ("stop", "vote", "refine", "search")


class PolicyError(RedraftError, ValueError):
    """A policy file that cannot be read, or does not fit the run it is given to."""


class LogisticModel(BaseModel):
    """A logistic regression on standardised features (scikit-learn's, written out)."""

    kind: Literal["logistic"] = "logistic"
    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float

    def probability(self, features: dict[str, float]) -> float:
        z = self.intercept
        for name, mean, scale, coef in zip(self.features, self.mean, self.scale, self.coef, strict=True):
            z += coef * (features.get(name, 0.0) - mean) / scale
        return 1.0 / (1.0 + math.exp(-z)) if z > -700 else 0.0


class ConstantModel(BaseModel):
    """An action whose training answers were all right or all wrong: its smoothed rate, (k+1)/(n+2)."""

    kind: Literal["constant"] = "constant"
    probability_right: float = Field(ge=0, le=1)
    reason: str

    def probability(self, features: dict[str, float]) -> float:
        return self.probability_right


ActionModel = Annotated[LogisticModel | ConstantModel, Field(discriminator="kind")]


class Action(BaseModel):
    """One action the router may take, as the arm it was learned from ran it."""

    name: ActionName
    #: The strategy spec the action runs (None for `stop`: the draft is the answer).
    spec: str | None
    model: ActionModel
    #: Training problems' mean tokens for this arm, signals included (what the trade-off prices).
    mean_tokens: float
    accuracy: float


class SignalSettings(BaseModel):
    """How the signals were measured; a run of the policy measures them the same way."""

    samples: int = Field(3, ge=0)
    temperature: float = Field(0.7, ge=0)
    critic: bool = False
    likelihood: bool = False
    ptrue: bool = False


class Arm(BaseModel):
    """Accuracy and mean tokens of one way of answering, on the same problems."""

    accuracy: float
    tokens: float


class Validation(BaseModel):
    """Out-of-fold figures on the training problems: every problem decided by a router fitted
    without it (cross-validated by problem)."""

    folds: int
    problems: int
    router: Arm
    fixed: dict[str, Arm]
    #: The best fixed action per problem (the cheapest right one): an upper bound, not a method.
    oracle: Arm
    best_fixed: str
    #: router accuracy minus the best fixed action's, per problem paired, with its 95% interval.
    versus_best_fixed: dict[str, float | None]
    #: Per action, the Brier score of its out-of-fold probabilities (lower is better) and that of
    #: predicting its base rate (what a classifier must beat to carry information).
    brier: dict[str, float]
    brier_base_rate: dict[str, float]
    #: Per action, how many problems the router sent to it out of fold.
    chosen: dict[str, int]


class TrainedOn(BaseModel):
    evaluations: list[str]
    tasks: list[str]
    problems: int
    #: sha256 of each training problem's question (`runs.learning.question_key`): an evaluation that
    #: holds any of them refuses to run the policy, which must never be evaluated on what it learned.
    question_digests: list[str]


class Policy(BaseModel):
    format: Literal["redraft-policy/1"] = FORMAT
    created: str
    redraft_version: str
    features: list[str]
    feature_docs: dict[str, str]
    signals: SignalSettings
    actions: list[Action]
    objective: Literal["accuracy", "accuracy_per_token"]
    budget_tokens: int | None = None
    #: Accuracy given up per token saved: the decision maximises P(right) - tradeoff * tokens.
    tradeoff: float = Field(0.0, ge=0)
    #: Set when the signals carried no information out of fold: every problem gets this action, and
    #: no signal is computed.
    constant_action: ActionName | None = None
    trained_on: TrainedOn
    validation: Validation
    notes: list[str] = Field(default_factory=list)

    def action(self, name: str) -> Action:
        for action in self.actions:
            if action.name == name:
                return action
        raise PolicyError(f"the policy has no action {name!r} (it has {', '.join(self.names)})")

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.actions]

    def probabilities(self, features: dict[str, float]) -> dict[str, float]:
        """P(right) of each action given the features (every feature the policy reads must be there)."""
        missing = [f for f in self.features if f not in features and not is_indicator(f)]
        if missing:
            raise PolicyError(f"the policy reads {', '.join(missing)}, which this run did not measure: run "
                              f"it with the policy's signal settings ({self.signals.model_dump()})")
        return {a.name: a.model.probability(features) for a in self.actions}

    def choose(self, features: dict[str, float],
               allowed: list[str] | None = None) -> tuple[str, dict[str, float]]:
        """The action the policy takes, and every action's P(right); `allowed` restricts the choice."""
        if self.constant_action is not None:
            return self.constant_action, {}
        probabilities = self.probabilities(features)
        candidates = [a for a in self.actions if allowed is None or a.name in allowed]
        if not candidates:
            raise PolicyError("no action of the policy is allowed here")
        best = max(candidates, key=lambda a: (probabilities[a.name] - self.tradeoff * a.mean_tokens,
                                              -a.mean_tokens))
        return best.name, probabilities

    def digest(self) -> str:
        """A short hash of the file's content, recorded with every run of it."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:12]

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(self.model_dump(mode="json"), indent=2) + "\n")
        return target


def load_policy(path: str | Path) -> Policy:
    """Read a policy file, with a message that says what is wrong with a bad one."""
    source = Path(path).expanduser()
    try:
        data: Any = json.loads(source.read_text())
    except FileNotFoundError:
        raise PolicyError(f"no policy file at {source} (make one with `redraft route fit`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read the policy file {source}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise PolicyError(f"{source} is not JSON ({exc}): not a policy file") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise PolicyError(f"{source} is not a redraft policy (its format is not {FORMAT!r})")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise PolicyError(f"{source}: bad policy file at {where}: {first['msg']}") from None


def is_indicator(feature: str) -> bool:
    """A task or answer-type indicator: absent means 0 (another task), not unmeasured."""
    return feature.startswith((TASK_PREFIX, ANSWER_TYPE_PREFIX))


def question_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()

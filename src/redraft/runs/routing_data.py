"""A router's training data: one row per problem from finished evaluations of the fixed arms.

The arms are `adaptive[action=stop]`, `adaptive[action=vote]`, ... on the same problems: each measures
the same signals (recorded on its draft), then always takes its action. So a row holds what the router
will see (the features) and, per action, whether that action's answer was right and what the whole run
cost (signals included): the figures the router will pay, not an estimate of them. With the response
cache on and a seed, every arm's signal calls are the same requests, answered once; when they differ
anyway (cache off at T > 0), the features are the first arm's and a note counts the problems.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from redraft.routing.policy import ACTION_ORDER, PolicyError, SignalSettings, question_digest
from redraft.routing.signals import Signals
from redraft.runs.eval_store import EvalStore, ItemResult
from redraft.runs.learning import question_key
from redraft.runs.store import RunStore
from redraft.strategies.registry import parse_spec
from redraft.tasks.registry import get_task

ARM_HINT = ("route fit learns from evaluations of the fixed arms adaptive[action=stop], "
            "adaptive[action=vote], adaptive[action=refine] (and adaptive[action=search]): each measures "
            "the signals, then takes its action")


class Outcome(BaseModel):
    correct: bool
    tokens: int


class Row(BaseModel):
    problem_id: str
    task: str
    question_digest: str
    features: dict[str, float]
    outcomes: dict[str, Outcome]


class TrainingSet(BaseModel):
    rows: list[Row]
    evaluations: list[str]
    tasks: list[str]
    signals: SignalSettings
    #: Per action, the strategy spec its arm ran (None: stop).
    specs: dict[str, str | None]
    notes: list[str] = Field(default_factory=list)

    @property
    def actions(self) -> list[str]:
        return [a for a in ACTION_ORDER if a in self.specs]


def arm_of(spec: str) -> tuple[str, SignalSettings, str | None] | None:
    """(action, signal settings, the action's strategy spec) of a fixed-arm spec; None for another."""
    from redraft.strategies.adaptive import Adaptive

    parsed = parse_spec(spec)
    if len(parsed.stages) != 1 or parsed.stages[0].name != "adaptive":
        return None
    try:
        params = Adaptive.Params.model_validate(parsed.stages[0].params)
    except ValidationError as exc:
        raise PolicyError(f"{spec}: {exc.errors()[0]['msg']}") from None
    if params.action == "auto":
        return None
    settings = SignalSettings.model_validate(params.model_dump(include=set(SignalSettings.model_fields)))
    action_spec = None if params.action == "stop" else str(getattr(params, params.action))
    return params.action, settings, action_spec


def training_set(store: RunStore, eval_ids: Sequence[str]) -> TrainingSet:
    """The rows of every problem that all arms of its evaluation finished; what was left out, in notes."""
    if not eval_ids:
        raise PolicyError("give at least one evaluation to learn from (--from EVAL_ID)")
    evals = EvalStore(store)
    rows: dict[str, Row] = {}
    notes: list[str] = []
    specs: dict[str, str | None] = {}
    settings: SignalSettings | None = None
    tasks: list[str] = []
    used: list[str] = []
    for given in eval_ids:
        record = evals.get(given)
        eval_id = record.id
        config: dict[str, Any] = record.config
        arms: dict[str, str] = {}
        for spec in record.strategies:
            arm = arm_of(spec)
            if arm is None:
                continue
            action, measured, action_spec = arm
            if settings is None:
                settings = measured
            elif measured != settings:
                raise PolicyError(f"eval {eval_id}: {spec} measures its signals with "
                                  f"{measured.model_dump()}, another arm with {settings.model_dump()}: "
                                  "every arm must measure them alike")
            if action in specs and specs[action] != action_spec:
                raise PolicyError(f"eval {eval_id}: the {action} action ran {action_spec}, elsewhere "
                                  f"{specs[action]}: one spec per action")
            if action in arms:
                raise PolicyError(f"eval {eval_id}: two arms take the {action} action "
                                  f"({arms[action]}, {spec})")
            specs[action], arms[action] = action_spec, spec
        if len(arms) < 2:
            named = ", ".join(arms.values()) or "none"
            raise PolicyError(f"eval {eval_id} has {len(arms)} fixed arm(s) ({named}); "
                              f"a router chooses between at least two. {ARM_HINT}")
        skipped = [s for s in record.strategies if s not in arms.values()]
        if skipped:
            notes.append(f"eval {eval_id}: {', '.join(skipped)} left out (not a fixed arm: no signals "
                         "recorded)")
        used.append(eval_id)
        task = get_task(config["task"]).with_seed(config.get("seed"))
        tasks.append(config["task"])
        limit, offset = config.get("limit"), int(config.get("offset", 0))
        problems = {p.id: p for p in task.load(None if limit is None else offset + limit)}
        items: dict[str, dict[str, ItemResult]] = {}
        for item in evals.items(eval_id):
            items.setdefault(item.problem_id, {})[item.strategy] = item
        incomplete = mismatched = 0
        for problem_id, by_spec in items.items():
            done = {action: by_spec.get(spec) for action, spec in arms.items()}
            if any(i is None or i.status != "done" or i.run_id is None for i in done.values()):
                incomplete += 1
                continue
            first = next(a for a in ACTION_ORDER if a in done)
            features = [draft_features(store, str(i.run_id)) for i in done.values() if i is not None]
            if any(f is None for f in features):
                incomplete += 1
                continue
            reference = features[list(done).index(first)]
            assert reference is not None
            mismatched += any(f != reference for f in features)
            if problem_id in rows:
                notes.append(f"{problem_id} is in more than one evaluation: the first one's row is kept")
                continue
            problem = problems.get(problem_id)
            key = question_key(problem) if problem is not None else problem_id
            rows[problem_id] = Row(
                problem_id=problem_id, task=config["task"], question_digest=question_digest(key),
                features=reference,
                outcomes={a: Outcome(correct=i.correct, tokens=i.tokens)  # type: ignore[union-attr]
                          for a, i in done.items()})
        if incomplete:
            notes.append(f"eval {eval_id}: {incomplete} problems left out: an arm failed on them or has not "
                         f"run them (`redraft evals resume {eval_id}`)")
        if mismatched:
            notes.append(f"eval {eval_id}: on {mismatched} problems the arms measured different signals (no "
                         "cache, or sampling without a seed); the first arm's are used")
    if not rows:
        raise PolicyError("no problem was finished by every arm: nothing to learn from")
    assert settings is not None
    actions = set(specs)
    for row in rows.values():
        if set(row.outcomes) != actions:
            raise PolicyError("the evaluations ran different actions: fit on evaluations of the same arms")
    return TrainingSet(rows=list(rows.values()), evaluations=used, tasks=sorted(set(tasks)), signals=settings,
                       specs=specs, notes=notes)


def draft_features(store: RunStore, run_id: str) -> dict[str, float] | None:
    """The features recorded on a run's draft (the outer stage's round-0 draft), None if it has none."""
    for candidate in store.get_run(run_id).candidates:
        if candidate.stage is None and candidate.kind == "draft" and "signals" in candidate.metadata:
            return Signals.model_validate(candidate.metadata["signals"]).features()
    return None

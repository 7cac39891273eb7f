"""`redraft evals export EVAL_ID --inspect DIR`: an evaluation as Inspect logs, for `inspect view`.

One log per strategy of the evaluation (an Inspect log is one solver on one task), written with
inspect_ai's own `write_eval_log` (the `.eval` format is versioned, not a frozen spec, so it is
never written by hand) and named as Inspect names its logs, `{created}_{task}_{id}.eval`, where
`id` is the evaluation's id and the strategy. In each log:

- one sample per problem: its prompt, the final answer, the task's verdict as the score `correct`
  (C/I, with the extracted answer), and an item that failed for good as a sample error;
- the run's events in order, a span per round (see `inspect_sample`): a model event per call with
  its role, an info event per candidate, an intermediate score event after each round but the
  last (was the answer right had the strategy stopped there?), then the final score event;
- the sample metadata: the strategy, stop reason, the oracle label (`oracle: true` means the
  feedback saw the reference: an upper bound, never a self-correction result), each round's
  correctness and critic score, and the flips (`wrong_to_right`, `right_to_wrong`, per round and
  first to final), as redraft's own report counts them;
- the results: accuracy over the finished items, with redraft's accuracy by round and flips.

Nothing here calls a model; API keys are never in the stored config, and base URLs are redacted.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from datetime import datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

from inspect_ai.log import (
    EvalConfig,
    EvalDataset,
    EvalLog,
    EvalMetric,
    EvalPlan,
    EvalPlanStep,
    EvalResults,
    EvalScore,
    EvalSpec,
    EvalStats,
    write_eval_log,
)
from inspect_ai.model import GenerateConfig, ModelConfig, ModelUsage

from redraft.integrations.inspect_sample import SCORER, add_usage, sample
from redraft.redact import redact
from redraft.runs.eval_store import EvalRecord, EvalStore, ItemResult
from redraft.runs.metrics import round_stats, transition
from redraft.runs.store import RunStore
from redraft.spec import parse_component
from redraft.strategies.registry import outer_params, parse_spec

#: redraft's evaluation status as Inspect's log status.
STATUS = {"done": "success", "done_with_errors": "success", "interrupted": "cancelled", "running": "started"}


def export_inspect(store: RunStore, eval_id: str, directory: Path) -> list[Path]:
    """Write one Inspect log per strategy of evaluation `eval_id` into `directory`; their paths."""
    evals = EvalStore(store)
    record = evals.get(eval_id)
    items = evals.items(record.id)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec, task_id in log_ids(record):
        log = eval_log(store, record, spec, task_id, [i for i in items if i.strategy == spec])
        path = directory / f"{log_name(record, task_id)}.eval"
        write_eval_log(log, path.as_posix(), format="eval")
        paths.append(path)
    return paths


def log_ids(record: EvalRecord) -> list[tuple[str, str]]:
    """Each strategy's log id: the evaluation id and the strategy spec as a file name can hold it."""
    ids: list[tuple[str, str]] = []
    for spec in record.strategies:
        task_id = f"{record.id}-{_slug(spec)}"
        if task_id in (taken for _, taken in ids):
            task_id += f"-{len(ids)}"
        ids.append((spec, task_id))
    return ids


def log_name(record: EvalRecord, task_id: str) -> str:
    """`{created}_{task}_{id}` as Inspect writes it (no `_`, `:`, `/` or `+` inside a part)."""
    return f"{_slug(_created(record.created_at))}_{_slug(task_name(record.task))}_{_slug(task_id)}"


def task_name(spec: str) -> str:
    """A task spec as a name: `gsm8k`, `rg:chain_sum[...]` -> `rg-chain_sum`, a file's task by its stem."""
    parsed = parse_component(spec)
    return parsed.name if not parsed.arg else f"{parsed.name}-{Path(parsed.arg).stem}"


def eval_log(
    store: RunStore, record: EvalRecord, spec: str, task_id: str, items: list[ItemResult]
) -> EvalLog:
    runs = {i.run_id: store.get_run(i.run_id) for i in items if i.run_id}
    config = record.config
    generator = (
        next((r.models.get("generator") for r in runs.values() if r.models.get("generator")), None)
        or config.get("generator", {}).get("model")
        or "unknown"
    )
    solver, args = solver_of(spec, config.get("params", {}))
    samples = [sample(store, item, runs.get(item.run_id or "")) for item in items]
    model_usage = _sum_usage(s.model_usage for s in samples)
    role_usage = _sum_usage(s.role_usage for s in samples)
    created = _created(record.created_at)
    return EvalLog(
        status=STATUS.get(record.status, "error"),
        eval=EvalSpec(
            eval_id=task_id,  # one per log; the logs of one evaluation share its id as their run
            run_id=record.id,
            created=created,
            task=record.task,
            task_id=task_id,
            solver=solver,
            solver_args=args,
            solver_args_passed=args,
            dataset=EvalDataset(
                name=record.task, samples=len(items), sample_ids=[i.problem_id for i in items]
            ),
            model=generator,
            model_base_url=_redacted(config.get("generator", {}).get("base_url")),
            model_generate_config=GenerateConfig(
                temperature=config.get("temperature"),
                max_tokens=config.get("max_tokens"),
                seed=config.get("seed"),
            ),
            model_roles={
                role: ModelConfig(model=c.get("model") or "unknown", base_url=_redacted(c.get("base_url")))
                for role, c in config.get("roles", {}).items()
            }
            or None,
            config=EvalConfig(limit=config.get("limit"), epochs=1),
            packages={"redraft": version("redraft"), "inspect_ai": version("inspect_ai")},
            metadata={
                "redraft": {
                    "eval_id": record.id,
                    "strategy": spec,
                    "strategies": record.strategies,
                    "budget_calls": config.get("budget_calls"),
                    "budget_tokens": config.get("budget_tokens"),
                }
            },
        ),
        plan=EvalPlan(steps=[EvalPlanStep(solver=solver, params=args)]),
        results=results(items),
        stats=EvalStats(
            started_at=created,
            completed_at=_completed(record),
            model_usage=model_usage,
            role_usage=role_usage,
        ),
        samples=samples,
    )


def solver_of(spec: str, shared: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The Inspect solver that runs `spec` (`redraft/NAME` with its parameters, or `redraft/strategy`
    for a composition or a feedback spec), as `inspect eval --solver` would take it; of the shared
    `-p` parameters, those its outer stage has (as the evaluation applied them)."""
    parsed, shared = parse_spec(spec), outer_params(spec, shared)
    if len(parsed.stages) == 1 and parsed.feedback is None:
        return f"redraft/{parsed.stages[0].name}", {**shared, **parsed.stages[0].params}
    return "redraft/strategy", {"spec": spec, **shared}


def results(items: list[ItemResult]) -> EvalResults:
    done = [i for i in items if i.status == "done"]
    metrics = {}
    if done:
        values = [float(i.correct) for i in done]
        accuracy = sum(values) / len(values)
        metrics["accuracy"] = EvalMetric(name="accuracy", value=accuracy)
        if len(values) > 1:  # Inspect's stderr: the sample standard deviation over sqrt(n)
            variance = sum((v - accuracy) ** 2 for v in values) / (len(values) - 1)
            metrics["stderr"] = EvalMetric(name="stderr", value=math.sqrt(variance / len(values)))
    stats = round_stats(done)
    first_final = transition([r[0] for r in _rounds(done)], [r[-1] for r in _rounds(done)]) if done else None
    return EvalResults(
        total_samples=len(items),
        completed_samples=len(done),
        scores=[
            EvalScore(
                name=SCORER,
                scorer=SCORER,
                scored_samples=len(done),
                unscored_samples=len(items) - len(done),
                metrics=metrics,
            )
        ],
        metadata={
            "accuracy_by_round": [s.accuracy for s in stats],
            "wrong_to_right": first_final.wrong_to_right if first_final else 0,
            "right_to_wrong": first_final.right_to_wrong if first_final else 0,
            "errors": len(items) - len(done),
        },
    )


def _rounds(items: list[ItemResult]) -> list[list[bool]]:
    return [list(i.round_correct) or [i.correct] for i in items]


def _sum_usage(tables: Iterable[dict[str, ModelUsage]]) -> dict[str, ModelUsage]:
    summed: dict[str, ModelUsage] = {}
    for table in tables:
        for key, used in table.items():
            summed[key] = add_usage(summed.get(key), used)
    return summed


def _created(created_at: str) -> str:
    """An ISO time to the second, as Inspect's `created` (redraft stores milliseconds)."""
    return datetime.fromisoformat(created_at).isoformat(timespec="seconds")


def _completed(record: EvalRecord) -> str:
    ended = datetime.fromisoformat(record.created_at).timestamp() + record.wall_s
    return datetime.fromtimestamp(ended, datetime.fromisoformat(record.created_at).tzinfo).isoformat(
        timespec="seconds"
    )


def _slug(text: str) -> str:
    """A file-name part: Inspect replaces `_ / : +` with `-`; other characters a path may not hold too."""
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-.")[:80] or "x"


def _redacted(url: str | None) -> str | None:
    return redact(url) if url else None

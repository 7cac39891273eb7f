"""An evaluation's numbers, per strategy, in one object: what the table, JSON and HTML show."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from redraft.runs.calibration import Calibration
from redraft.runs.eval_store import EvalRecord, EvalStore, ItemResult
from redraft.runs.metrics import StrategyMetrics, add_calibration, compare_at_equal_budget, strategy_metrics
from redraft.runs.store import RunStore


class EvalSummary(BaseModel):
    eval: EvalRecord
    problems: int
    complete: bool
    strategies: list[StrategyMetrics]

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def summarize(store: RunStore, eval_id: str) -> tuple[EvalSummary, dict[str, list[ItemResult]]]:
    evals = EvalStore(store)
    record = evals.get(eval_id)
    by_strategy: dict[str, list[ItemResult]] = {spec: [] for spec in record.strategies}
    for item in evals.items(record.id):
        by_strategy.setdefault(item.strategy, []).append(item)
    metrics = {spec: strategy_metrics(spec, items) for spec, items in by_strategy.items()}
    for spec, recorded in (record.config.get("calibration") or {}).items():
        if spec in metrics:  # its pass's cost is the strategy's: in before any equal-token comparison
            add_calibration(metrics[spec], Calibration.model_validate(recorded))
    compare_at_equal_budget(metrics, by_strategy)
    problems = max((len(items) for items in by_strategy.values()), default=0)
    complete = record.status == "done"
    summary = EvalSummary(eval=record, problems=problems, complete=complete,
                          strategies=list(metrics.values()))
    return summary, by_strategy

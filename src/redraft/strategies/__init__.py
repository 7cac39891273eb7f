"""The strategy library: one module per method, registered by name."""

from redraft.strategies import self_refine as _self_refine  # noqa: F401  (registers)
from redraft.strategies.base import (
    REGISTRY,
    Final,
    Strategy,
    StrategyError,
    register,
    strategy_class,
    strategy_info,
)
from redraft.strategies.context import Budget, BudgetExhausted, CallRecord, Candidate, Context
from redraft.strategies.self_refine import SelfRefine

__all__ = [
    "REGISTRY", "Budget", "BudgetExhausted", "CallRecord", "Candidate", "Context", "Final",
    "SelfRefine", "Strategy", "StrategyError", "register", "strategy_class", "strategy_info",
]

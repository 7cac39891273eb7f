"""The strategy library: one module per method, registered by name."""

# Importing a strategy module registers it.
from redraft.strategies import (  # noqa: F401
    best_of_n,
    direct,
    self_consistency,
    self_refine,
)
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

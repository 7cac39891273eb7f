"""The strategy library: one module per method, registered by name."""

# Importing a strategy module registers it.
from redraft.strategies import (  # noqa: F401
    art,
    best_of_n,
    critical,
    direct,
    gsr,
    ioe,
    magicore,
    mctsr,
    progco,
    reflexion,
    self_consistency,
    self_contrast,
    self_debug,
    self_polish,
    self_refine,
    tear,
    wait,
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

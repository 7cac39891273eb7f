"""The strategy library: one module per method, registered by name."""

# Importing a strategy module registers it.
from redraft.context import Budget, BudgetExhausted, Context
from redraft.strategies import (  # noqa: F401
    ab_mcts,
    adaptive,
    art,
    auto_evolve,
    best_of_n,
    cove,
    critical,
    direct,
    filtered_vote,
    gsr,
    id_sampling,
    injected_error,
    ioe,
    iort,
    likelihood,
    local_refine,
    magicore,
    mctsr,
    metareflection,
    pairwise_preference,
    progco,
    ptrue,
    rci,
    reflexion,
    rsa,
    self_consistency,
    self_contrast,
    self_debug,
    self_polish,
    self_refine,
    sr_nle,
    ssc,
    strategy_switch,
    tear,
    tournament,
    wait,
)
from redraft.strategies.base import Composed, Final, Strategy, StrategyError
from redraft.strategies.registry import (
    REGISTRY,
    STRATEGIES,
    build_strategy,
    parse_spec,
    register,
    strategy_class,
    strategy_info,
)
from redraft.strategies.self_refine import SelfRefine
from redraft.trace import CallRecord, Candidate

__all__ = [
    "REGISTRY", "STRATEGIES", "Budget", "BudgetExhausted", "CallRecord", "Candidate", "Composed",
    "Context", "Final", "SelfRefine", "Strategy", "StrategyError", "build_strategy", "parse_spec",
    "register", "strategy_class", "strategy_info",
]

"""Runs one strategy on one problem: builds the context, records the run, shapes the outcome.

The outer context is given the strategy's `select`, so it emits each round's pick while the
strategy runs; the runner emits the last one (the final answer). Budget exhaustion is not an
error: the strategy's own final-answer rule picks from what was produced so far, and the stop
reason is "budget" whenever the budget refused or cut anything in the run (also when the
strategy then finished its loop). A cancellation (SIGINT, SIGTERM) marks the run `interrupted`;
any other failure marks it failed in the store (nothing recorded is lost). Both propagate.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from redraft.context import Budget, BudgetExhausted, Context, FinalStage
from redraft.models.managed import ManagedModel
from redraft.runs.outcome import Outcome
from redraft.runs.store import RunStore
from redraft.strategies.base import Final, Strategy
from redraft.tasks.base import Problem
from redraft.trace import Listener


async def run_strategy(
    strategy: Strategy,
    problem: Problem,
    models: Mapping[str, ManagedModel],
    *,
    budget: Budget | None = None,
    sampling: Mapping[str, Any] | None = None,
    extract: Callable[[str], str | None] | None = None,
    store: RunStore | None = None,
    listeners: Iterable[Listener] = (),
    conversation: Sequence[Mapping[str, Any]] = (),
    trailing: Sequence[Mapping[str, Any]] = (),
    final_stage: FinalStage | None = None,
) -> Outcome:
    """`conversation`: turns every call is sent after (a served request's system prompt and
    earlier turns); `trailing`: turns after the problem, sent after it in first drafts;
    `final_stage`: what only the answer's call gets (see `FinalStage`). A strategy awaiting a
    statistic of an evaluation (`min_confidence=dataset`) is a StrategyError."""
    strategy.require_calibrated()  # a parameter only an evaluation measures: refused before any call
    strategy.require_logprobs(Context(models))  # a role reads logprobs its model cannot give: likewise
    listeners = list(listeners)
    run_id = None
    if store is not None:
        run_id = store.start_run(
            strategy=strategy.describe(),
            models=role_bindings(strategy, models),
            problem=problem,
            oracle=strategy.oracle,
        )
        listeners.append(store.listener(run_id))
    ctx = Context(models, budget=budget, sampling=sampling, extract=extract, listeners=listeners,
                  select=strategy.select, full_problem=problem)
    ctx.ledger.conversation = [dict(m) for m in conversation]
    ctx.ledger.trailing = [dict(m) for m in trailing]
    ctx.ledger.final = final_stage
    started = time.perf_counter()
    try:
        try:
            final = await strategy.solve(problem.public(), ctx)  # the answer reaches oracles only
        except BudgetExhausted:
            final = Final(candidate=strategy.select(ctx.candidates), stop_reason="budget")
        if ctx.ledger.limited:  # the loop finished on fewer samples or shorter calls than it asked
            final = final.model_copy(update={"stop_reason": "budget"})
    except (asyncio.CancelledError, KeyboardInterrupt):  # a signal, Ctrl-C: stopped, not failed
        if store is not None and run_id is not None:
            store.interrupt_run(run_id)
        raise
    except BaseException as exc:
        if store is not None and run_id is not None:
            store.fail_run(run_id, f"{type(exc).__name__}: {exc}")
        raise
    chosen = final.candidate
    ctx.emit_pick(max((c.round for c in ctx.candidates), default=0), chosen)
    outcome = Outcome(
        run_id=run_id,
        strategy=strategy.full_name,
        strategy_params=strategy.params.model_dump(),
        problem_id=problem.id,
        answer=chosen.answer if chosen else None,
        text=chosen.text if chosen else "",
        stop_reason=final.stop_reason,
        oracle=strategy.oracle,
        candidates=list(ctx.candidates),
        picks=list(ctx.picks),
        usage=ctx.usage,
        usage_by_role=dict(ctx.usage_by_role),
        wall_s=time.perf_counter() - started,
    )
    if store is not None and run_id is not None:
        store.finish_run(run_id, outcome)
    return outcome


def role_bindings(strategy: Strategy, models: Mapping[str, ManagedModel]) -> dict[str, str]:
    """Which model each role of the run went to: every declared role, and every bound one."""
    probe = Context(models)
    roles = dict.fromkeys((*strategy.all_roles(), *models))
    return {role: probe.model_for(role).name for role in roles}

"""redraft's strategies as Inspect solvers (the `[inspect]` extra).

    inspect eval TASK --solver redraft/self_refine -S max_rounds=2 --model-role critic=openai/gpt-4o

Every registered strategy is a solver `redraft/NAME` whose arguments are the strategy's parameters
(its `Params`, paper defaults, validated by redraft when the solver is made, so a bad `-S` fails
before any sample runs) plus four of redraft's own:

- `feedback`: a feedback spec (`critic`, `oracle`, `checklist[threshold=0.75]`), as after `@`;
- `answer`: how answers are read out of candidates, `text` (the whole reply), `number`, `math` or
  `choice` (what self-consistency votes over, what stop rules compare);
- `budget_calls`, `budget_tokens`: redraft's hard budget per sample (Inspect's own `token_limit`
  still applies on top and ends the sample, where redraft's budget stops the strategy and keeps
  its best answer so far).

`redraft/strategy -S spec='best_of_n[n=2]>self_refine@critic'` takes any spec, compositions too
(Inspect splits `-S` values on commas; the pieces of `spec` and `feedback` are joined back).

The solver replaces `generate()`: it runs the strategy on the sample's last user turn (see
`inspect_run`), the task's model as the generator and `--model-role` for the other roles, appends
the answer as the assistant message and sets `state.output` (usage set: the strategy's total), and
records the run (stop reason, cost by role, each round's answer) in `state.metadata["redraft"]`.
The sample's target never reaches the strategy: Inspect's scorers judge the answer afterwards, and
redraft's oracle feedback, which needs a redraft task's scorer, is not available here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from inspect_ai.model import ChatMessageAssistant, ModelOutput, get_model
from inspect_ai.solver import Generate, Solver, TaskState, solver

from redraft.errors import UsageError
from redraft.integrations.inspect_model import redraft_messages, usage_of
from redraft.integrations.inspect_run import (
    budget_of,
    extractor,
    outcome_summary,
    role_models,
    split_chat,
)
from redraft.runs.runner import run_strategy
from redraft.strategies.base import Strategy, StrategyError
from redraft.strategies.registry import STRATEGIES, build_strategy

#: The solver arguments that are redraft's, not a strategy's parameters.
RUN_ARGS = ("feedback", "answer", "budget_calls", "budget_tokens")


def run_solver(
    spec: str | list[str],
    feedback: str | list[str] | None = None,
    answer: str = "text",
    budget_calls: int | None = None,
    budget_tokens: int | None = None,
    **params: Any,
) -> Solver:
    """The solve step every redraft solver is: `spec` run on each sample, `params` to its outer stage."""
    build = _builder(cli_spec(spec), None if feedback is None else cli_spec(feedback), params)
    build()  # a bad spec or parameter fails here, when the solver is made, not in every sample
    extract = extractor(answer)
    budget = budget_of(budget_calls, budget_tokens)

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        chosen = build()  # one per sample: nothing of one sample's run can reach another's
        generator = get_model(role="generator", default=get_model())
        problem, conversation, trailing = split_chat(redraft_messages(state.messages), str(state.sample_id))
        outcome = await run_strategy(
            chosen,
            problem,
            role_models(chosen.all_roles(), generator),
            budget=budget,
            extract=extract,
            conversation=conversation,
            trailing=trailing,
        )
        state.messages.append(ChatMessageAssistant(content=outcome.text, model=str(generator)))
        state.output = ModelOutput.from_content(model=str(generator), content=outcome.text)
        state.output.usage = usage_of(outcome.usage.prompt_tokens, outcome.usage.completion_tokens)
        state.metadata["redraft"] = outcome_summary(outcome)
        return state

    return solve


@solver(name="strategy")
def strategy(
    spec: str | list[str],
    feedback: str | list[str] | None = None,
    answer: str = "text",
    budget_calls: int | None = None,
    budget_tokens: int | None = None,
    **params: Any,
) -> Solver:
    """Run the redraft strategy `spec` (any spec: `best_of_n[n=2]>self_refine@critic`) on each sample;
    `params` go to its outer stage."""
    return run_solver(spec, feedback, answer, budget_calls, budget_tokens, **params)


def cli_spec(value: str | list[str]) -> str:
    """A spec as `-S` delivers it: Inspect's command line splits a value on every comma, quoted or not
    (`-S spec=best_of_n[n=2,temperature=0.5]` arrives as two strings), so the pieces are joined
    back; `;` may stand for those commas too, as in the model provider's name."""
    text = ",".join(value) if isinstance(value, list) else value
    if not isinstance(text, str):
        raise UsageError(f"a spec must be text, got {value!r}")
    return text.replace(";", ",")


def _builder(spec: str, feedback: str | None, params: dict[str, Any]) -> Callable[[], Strategy]:
    def build() -> Strategy:
        built = build_strategy(spec, feedback, **params)
        built.require_calibrated()  # a statistic of a whole evaluation: no Inspect sample has one
        return built

    return build


def strategy_solver(name: str, cls: type[Strategy]) -> Callable[..., Solver]:
    """The solver `redraft/NAME`: `strategy(NAME, ...)` with the strategy's parameters as its own
    named arguments (its signature is what Inspect checks `-S` against and records in the log)."""
    clashes = sorted(set(cls.Params.model_fields) & set(RUN_ARGS))
    if clashes:
        raise StrategyError(
            f"strategy {name}'s parameters {', '.join(clashes)} clash with the Inspect solver's own arguments"
        )

    def factory(**args: Any) -> Solver:
        return run_solver(name, **args)

    parameters = [
        inspect.Parameter(
            key,
            inspect.Parameter.KEYWORD_ONLY,
            annotation=field.annotation,
            default=inspect.Parameter.empty if field.is_required() else field.default,
        )
        for key, field in cls.Params.model_fields.items()
    ]
    own = inspect.signature(run_solver).parameters
    parameters += [own[key].replace(kind=inspect.Parameter.KEYWORD_ONLY) for key in RUN_ARGS]
    factory.__signature__ = inspect.Signature(parameters, return_annotation=Solver)  # type: ignore[attr-defined]
    factory.__name__ = factory.__qualname__ = name
    factory.__doc__ = f"redraft's {name}: {cls.summary or cls.paper}"
    return solver(name=name)(factory)


def register_all() -> list[str]:
    """Register a solver for every strategy redraft knows (its own and its plugins'); their names."""
    for name, cls in STRATEGIES.items():
        strategy_solver(name, cls)
    return [*STRATEGIES.names(), "strategy"]

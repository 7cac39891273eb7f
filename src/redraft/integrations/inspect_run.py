"""Running a redraft strategy inside an Inspect sample: its roles, its problem, what it reports.

Shared by the solvers (`inspect_solvers`) and the `redraft/SPEC:MODEL` provider (`inspect_provider`).

Roles come from Inspect's own model roles (`--model-role critic=openai/gpt-4o`): a redraft role
bound there gets that model; any other falls back as in redraft (judging roles to the critic, the
rest to the generator), and is still labelled with its own name (`get_model(role=..., default=...)`),
so every model event in the Inspect log says which role the call was made in. Roles that are not
redraft's (a task's `grader`) are left to whoever asked for them.

The problem is the last user turn; the turns before it are sent ahead of every call (a system
prompt an earlier solver added), and those after it follow the first drafts, as `redraft serve`
does with a chat.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from inspect_ai.model import Model as InspectAIModel
from inspect_ai.model import get_model, model_roles

from redraft.budget import Budget
from redraft.errors import UsageError
from redraft.integrations.inspect_model import InspectModel
from redraft.models.managed import ManagedModel
from redraft.roles import ROLES, fallback
from redraft.runs.outcome import Outcome
from redraft.tasks.base import Problem
from redraft.tasks.extract import extract_choice, extract_math, extract_number

#: How answers are read out of candidates (what votes compare and stop rules check): the whole
#: text, or one of redraft's extractors, as a task of that answer type would read them.
EXTRACTORS: dict[str, Callable[[str], str | None] | None] = {
    "text": None,
    "number": extract_number,
    "math": extract_math,
    "choice": extract_choice,
}
#: Inspect schedules and retries every call; redraft's own limit only has to stay out of its way.
NO_LIMIT = 100_000


def extractor(answer: str) -> Callable[[str], str | None] | None:
    if answer not in EXTRACTORS:
        raise UsageError(f"answer={answer!r}: choose from {', '.join(EXTRACTORS)}")
    return EXTRACTORS[answer]


def budget_of(budget_calls: int | None, budget_tokens: int | None) -> Budget:
    for name, value in (("budget_calls", budget_calls), ("budget_tokens", budget_tokens)):
        if value is not None and (not isinstance(value, int) or value < 1):
            raise UsageError(f"{name} must be a positive integer, got {value!r}")
    return Budget(max_calls=budget_calls, max_tokens=budget_tokens)


def bound_roles() -> dict[str, InspectAIModel]:
    """The redraft roles this Inspect evaluation binds (`--model-role`), a model each."""
    bound: dict[str, InspectAIModel] = {}
    for role, models in model_roles().items():
        if role in ROLES:
            bound[role] = models[0] if isinstance(models, list) else models
    return bound


def role_models(roles: Iterable[str], generator: InspectAIModel) -> dict[str, ManagedModel]:
    """A redraft model for the generator, every role in `roles` and every bound redraft role."""
    resolved: dict[str, InspectAIModel] = {"generator": generator}

    def resolve(role: str) -> InspectAIModel:
        if role not in resolved:
            parent = fallback(role)
            resolved[role] = get_model(role=role, default=resolve(parent or "generator"))
        return resolved[role]

    for role in dict.fromkeys((*roles, *bound_roles())):
        resolve(role)
    return {
        role: ManagedModel(InspectModel(model), max_retries=0, max_concurrency=NO_LIMIT)
        for role, model in resolved.items()
    }


def split_chat(
    turns: list[dict[str, Any]], problem_id: str
) -> tuple[Problem, list[dict[str, Any]], list[dict[str, Any]]]:
    """The problem (the last user turn), the turns before it and the turns after it."""
    users = [i for i, turn in enumerate(turns) if turn["role"] == "user"]
    if not users:
        raise UsageError("a redraft strategy answers the last user turn, and this conversation has none")
    last = users[-1]
    problem = Problem(id=problem_id, prompt=turns[last]["content"])
    return problem, turns[:last], turns[last + 1 :]


def outcome_summary(outcome: Outcome) -> dict[str, Any]:
    """What a sample (or an output's metadata) records of a run: the strategy, why it stopped, its
    cost by role, and the answer it would have given after each round."""
    return {
        "strategy": outcome.strategy,
        "params": outcome.strategy_params,
        "stop_reason": outcome.stop_reason,
        "oracle": outcome.oracle,
        "answer": outcome.answer,
        "calls": outcome.usage.calls,
        "prompt_tokens": outcome.usage.prompt_tokens,
        "completion_tokens": outcome.usage.completion_tokens,
        "usage_by_role": {
            role: _usage(u.calls, u.prompt_tokens, u.completion_tokens)
            for role, u in outcome.usage_by_role.items()
            if u.calls
        },
        "rounds": [
            {"round": p.round, "answer": p.answer, "score": p.score} for p in outcome.picks if p.stage is None
        ],
    }


def _usage(calls: int, prompt_tokens: int, completion_tokens: int) -> Mapping[str, int]:
    return {"calls": calls, "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens}

"""No strategy can reach the reference or the hidden tests: they reach the scorer and oracles only."""

from __future__ import annotations

import json

import pytest

from redraft.context import Budget, Context
from redraft.feedback.oracle import OracleFeedback
from redraft.models.base import Message
from redraft.models.scripted import ScriptedModel
from redraft.strategies.base import Composed, Final, Strategy, StrategyError
from redraft.strategies.registry import STRATEGIES, build_strategy
from redraft.tasks.base import PRIVATE_METADATA, Problem
from redraft.tasks.extract import extract_number
from tests.helpers import REQUIRED_PARAMS, run_scripted

CANARY = "CANARY-7f3a"
SECRET = Problem(id="p1", prompt="What is 2 + 2? Write the function add.",
                 reference=f"4 {CANARY}",
                 metadata={"test": f"assert add(1, 2) == 3  # {CANARY}", "entry_point": "add",
                           "checklist": ["It is right."]})


def reply(messages: list[Message]) -> str:
    """A reply every parser in the strategies can read something out of, whatever it was asked."""
    return ("1. yes\n1. Solve it directly.\nThe answer is 4.\nScore: 8/10\nVERDICT: correct\n"
            "ALL ANSWERED: yes\nBEST: 2\nNew problem: What is 2 + 2?\n```python\ndef add(a, b):\n"
            "    return a + b\n```\nassert add(1, 2) == 3")


class Spy(Strategy):
    """A drafter that remembers every problem handed to it (child problems included)."""

    name = "spy"
    paper = "none"

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Problem] = []

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        self.seen.append(problem)
        return Final(candidate=ctx.record(round=0, kind="draft", text="The answer is 4."), stop_reason="done")


def with_critic(name: str) -> Strategy:
    """The strategy with a non-oracle feedback source, or its own where it takes no other (ProgCo)."""
    required = REQUIRED_PARAMS.get(name, {})
    try:
        return build_strategy(name, "critic", **required)
    except StrategyError:
        return build_strategy(name, **required)


def leaks(problem: Problem) -> bool:
    return CANARY in json.dumps(problem.model_dump()) or problem.reference is not None


def test_public_view_drops_the_reference_and_private_metadata_only() -> None:
    public = SECRET.public()
    assert public.reference is None and "test" in PRIVATE_METADATA
    assert public.metadata == {"entry_point": "add", "checklist": ["It is right."]}
    assert public.with_private(SECRET).model_dump() == SECRET.model_dump()


@pytest.mark.parametrize("name", STRATEGIES.names())
def test_no_strategy_sees_the_reference_or_hidden_tests(name: str) -> None:
    model = ScriptedModel(reply)
    spy = Spy()
    strategy = with_critic(name)
    seen: list[Problem] = []
    original = strategy.solve

    async def solve(problem: Problem, ctx: Context) -> Final:
        seen.append(problem)
        return await original(problem, ctx)

    strategy.solve = solve  # type: ignore[method-assign]
    # `likelihood`, `id_sampling` take no composed drafter (they read their samples' logprobs, cuts)
    run_scripted(Composed(spy, strategy) if strategy.takes_drafts else strategy, model, problem=SECRET,
                 budget=Budget(max_calls=40), extract=extract_number)
    run_scripted(with_critic(name), model, problem=SECRET, budget=Budget(max_calls=40),
                 extract=extract_number)
    assert seen and not any(leaks(p) for p in seen)
    assert not any(leaks(p) for p in spy.seen)  # child problems: Self-Polish's rewrites, Self-Contrast's
    assert model.history and all(CANARY not in json.dumps(messages) for messages, _ in model.history)


@pytest.mark.parametrize("name", ["self_polish", "self_contrast"])
def test_child_problems_carry_no_reference(name: str) -> None:
    spy = Spy()
    run_scripted(Composed(spy, build_strategy(name)), ScriptedModel(reply), problem=SECRET,
                 budget=Budget(max_calls=40), extract=extract_number)
    assert len(spy.seen) > 1 and all(p.reference is None and "test" not in p.metadata for p in spy.seen)


def test_oracle_still_reads_the_reference_through_the_context() -> None:
    from redraft.tasks.arithmetic import MultiArith

    problem = Problem(id="p1", prompt="What is 2 + 2?", reference="4")
    generator = ScriptedModel(["The answer is 5.", "The answer is 4."])
    outcome = run_scripted(build_strategy("self_refine", OracleFeedback(MultiArith())), generator,
                           problem=problem, extract=extract_number)
    assert outcome.answer == "4" and outcome.stop_reason == "verdict" and outcome.oracle

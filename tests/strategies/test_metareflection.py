"""MetaReflection: the offline loop call by call, and the one test-time call with the learned instructions."""

from __future__ import annotations

import asyncio
import contextlib
import re

import pytest

from redraft.api import build_strategy
from redraft.context import Budget, BudgetExhausted, Context
from redraft.models.base import Message
from redraft.models.scripted import ScriptedModel
from redraft.strategies.base import StrategyError
from redraft.strategies.metareflection import INSTRUCTED_PROMPT, MetaReflection
from redraft.tasks.arithmetic import score_numeric
from redraft.tasks.base import Problem, Score
from redraft.tasks.extract import extract_number
from redraft.trace import CallRecord
from tests.helpers import managed, run_scripted


def sums(*pairs: tuple[int, int]) -> list[Problem]:
    return [Problem(id=f"s{a}+{b}", prompt=f"What is {a} + {b}?", reference=str(a + b)) for a, b in pairs]


class Learner:
    """A model that answers right only under instructions naming RULE-2, and merges into RULE-1, RULE-2..."""

    def __init__(self) -> None:
        self.merges = 0

    def __call__(self, messages: list[Message]) -> str:
        prompt = messages[-1]["content"]
        if prompt.startswith("You attempted the problem"):
            return "I rushed the sum. Lesson: add the digits carefully."
        if prompt.startswith("You maintain instructions"):
            self.merges += 1
            return f"1. RULE-{self.merges}: add carefully."
        a, b = map(int, re.findall(r"What is (\d+) \+ (\d+)\?", prompt)[0])
        return f"The answer is {a + b if 'RULE-2' in prompt else 0}."


async def grade(problem: Problem, text: str) -> Score:
    return score_numeric(REFERENCES[problem.id], text)


TRAIN, VALIDATION = sums((1, 1), (1, 2), (2, 2), (2, 3)), sums((3, 3))
REFERENCES = {p.id: p.reference for p in TRAIN + VALIDATION}


def learn(
    strategy: MetaReflection, model: ScriptedModel, budget: Budget | None = None
) -> tuple[dict, Context]:
    calls: list[CallRecord] = []
    ctx = Context(
        {"generator": managed(model)},
        budget=budget,
        extract=extract_number,
        listeners=[lambda e: calls.append(e) if isinstance(e, CallRecord) else None],
    )
    ctx.store["calls"] = calls
    learned: dict = {}

    async def go() -> None:
        public = [p.public() for p in TRAIN], [p.public() for p in VALIDATION]
        await strategy.learn(*public, ctx, grade, learned)

    with contextlib.suppress(BudgetExhausted):  # a cut keeps what was learned before it
        asyncio.run(go())
    return learned, ctx


def calls_of(ctx: Context) -> list[CallRecord]:
    return ctx.store["calls"]


def test_each_batch_reflects_on_its_failures_and_keeps_the_merge_only_when_validation_rises() -> None:
    model = ScriptedModel(Learner())
    learned, ctx = learn(MetaReflection(train="unused", batch_size=2), model)
    assert len(model.history) == 1 + (2 + 2 + 1 + 1) * 2  # I0 validated; per batch: answers, reflections,
    #                                                       merge, validation
    assert learned["params"] == {"instructions": "1. RULE-2: add carefully."}
    assert learned["summary"] == {
        "train": 4,
        "validation": 1,
        "batches": 2,
        "kept": 1,
        "validation_accuracy": [0.0, 1.0],
    }
    proposals = [(c.round, c.text, c.metadata) for c in ctx.candidates if c.kind == "instructions"]
    assert proposals == [
        (0, "", {"validation_accuracy": 0.0, "kept": True, "failures": 0}),
        (
            1,
            "1. RULE-1: add carefully.",
            {"validation_accuracy": 0.0, "kept": False, "failures": 2},
        ),  # no rise
        (2, "1. RULE-2: add carefully.", {"validation_accuracy": 1.0, "kept": True, "failures": 2}),
    ]
    prompts = [messages[-1]["content"] for messages, _ in model.history]
    merges = [p for p in prompts if p.startswith("You maintain")]
    assert all("(none yet)" in p for p in merges)  # RULE-1 was rejected, so batch 2 merges into I0 again
    assert merges[0].count("Lesson: add the digits carefully.") == 2
    reflections = [p for p in prompts if p.startswith("You attempted")]
    assert "The correct answer is: 2" in reflections[0] and "What is 1 + 1?" in reflections[0]
    batch = ["generator"] * 2 + ["reflector"] * 2 + ["rewriter", "generator"]
    assert [call.role for call in calls_of(ctx)] == ["generator"] + batch * 2


def test_the_label_can_be_withheld_from_reflections() -> None:
    model = ScriptedModel(Learner())
    learn(MetaReflection(train="unused", batch_size=4, show_label=False), model)
    reflection = next(
        m[-1]["content"] for m, _ in model.history if m[-1]["content"].startswith("You attempted")
    )
    assert "The correct answer is" not in reflection and "The answer is 0." in reflection


def test_a_batch_without_failures_proposes_nothing() -> None:
    model = ScriptedModel(lambda messages: "The answer is 2." if "1 + 1" in messages[-1]["content"] else "x")
    strategy = MetaReflection(train="unused", batch_size=1)
    ctx = Context({"generator": managed(model)}, extract=extract_number)
    learned: dict = {}
    asyncio.run(strategy.learn([TRAIN[0].public()], [VALIDATION[0].public()], ctx, grade, learned))
    assert len(model.history) == 2 and learned["summary"]["batches"] == 1 and learned["summary"]["kept"] == 0


def test_a_budget_cut_keeps_the_instructions_kept_before_it() -> None:
    model = ScriptedModel(Learner())
    learned, _ = learn(MetaReflection(train="unused", batch_size=2), model, budget=Budget(max_calls=5))
    assert len(model.history) == 5 and learned["params"] == {"instructions": ""}


def test_at_test_time_one_call_with_the_instructions_before_the_problem() -> None:
    model = ScriptedModel(Learner())
    outcome = run_scripted(
        MetaReflection(instructions="1. RULE-2: add carefully."),
        model,
        problem=sums((4, 4))[0],
        extract=extract_number,
    )
    assert (outcome.answer, outcome.stop_reason, len(model.history)) == ("8", "done", 1)
    assert model.history[0][0][-1]["content"] == INSTRUCTED_PROMPT.format(
        instructions="1. RULE-2: add carefully.", problem="What is 4 + 4?"
    )
    assert outcome.candidates[0].metadata == {"instructed": True}
    empty = ScriptedModel(Learner())
    run_scripted(MetaReflection(instructions=""), empty, problem=sums((4, 4))[0])
    assert empty.history[0][0][-1]["content"] == "What is 4 + 4?"  # nothing learned: the plain prompt


def test_without_learned_instructions_a_run_is_refused_before_any_call() -> None:
    model = ScriptedModel(Learner())
    with pytest.raises(StrategyError, match="give train=TASK .* or instructions=TEXT"):
        run_scripted(MetaReflection(), model)
    with pytest.raises(
        StrategyError, match=r"learned on train=jsonl:t.jsonl in an evaluation's learning pass"
    ):
        run_scripted(MetaReflection(train="jsonl:t.jsonl"), model)
    assert model.history == []
    assert MetaReflection(train="jsonl:t.jsonl").awaiting_calibration() == {
        "instructions": "learned on jsonl:t.jsonl"
    }
    assert MetaReflection(train="jsonl:t.jsonl", instructions="x").needs_calibration is False


def test_a_composition_learns_in_its_learning_stage() -> None:
    composed = build_strategy("direct>metareflection[train=jsonl:t.jsonl]")
    assert composed.learning_task() == "jsonl:t.jsonl" and composed.needs_calibration
    composed.calibrate({"instructions": "1. Check."})
    assert composed.learning_task() is None and composed.params.instructions == "1. Check."

"""Chain-of-Verification: draft, plan, verification answers apart from the draft (concurrently), revise."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from redraft.api import build_strategy
from redraft.context import Budget
from redraft.feedback.critic import CriticFeedback
from redraft.models.base import Completion, Message
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.base import StrategyError
from redraft.strategies.cove import EXECUTE_PROMPT, CoVe, parse_questions
from redraft.tasks.extract import extract_number
from tests.helpers import roles, run_scripted

DRAFT = "2 + 2 = 5. The answer is 5."
PLAN = "Here are the questions:\n1. What is 2 + 2?\n2. Is 5 the sum of 2 and 2?"
ANSWERS = {"What is 2 + 2?": "4", "Is 5 the sum of 2 and 2?": "No, it is 4."}


def reply(messages: list[Message]) -> str:
    prompt = messages[-1]["content"]
    if prompt.startswith("Below are a question and a draft answer"):
        return PLAN
    if prompt.startswith("Answer this question"):
        return ANSWERS[prompt.split("\n\n", 1)[1]]
    if "Verification questions about it" in prompt:
        return "Verified: 2 + 2 = 4. The answer is 4."
    return DRAFT


class Verifications(ScriptedModel):
    """Holds each verification call until `n` of them are in flight: sequential calls would time out."""

    def __init__(self, n: int) -> None:
        super().__init__(reply)
        self.n = n
        self.barrier: asyncio.Barrier | None = None

    async def complete(self, messages: list[Message], **sampling: Any) -> Completion:
        if messages[-1]["content"].startswith("Answer this question"):
            self.barrier = self.barrier or asyncio.Barrier(self.n)
            await asyncio.wait_for(self.barrier.wait(), timeout=5)
        return await super().complete(messages, **sampling)


def test_verifications_are_answered_apart_from_the_draft_and_concurrently(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = Verifications(2)
    outcome = run_scripted(CoVe(), model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator", "planner", "verifier", "verifier", "refiner"]
    assert (outcome.stop_reason, outcome.answer, outcome.usage.calls) == ("revised", "4", 5)
    assert [(c.round, c.kind) for c in outcome.candidates] == [(0, "draft"), (1, "revise")]
    draft, revised = outcome.candidates
    assert draft.metadata["questions"] == list(ANSWERS) and revised.parent == draft.seq
    assert draft.feedback == "Q1: What is 2 + 2?\nA1: 4\n\nQ2: Is 5 the sum of 2 and 2?\nA2: No, it is 4."
    assert draft.verdict is None  # nobody judged it
    verification_prompts = [m[0]["content"] for m, _ in model.history[2:4]]
    assert sorted(verification_prompts) == sorted(EXECUTE_PROMPT.format(question=q) for q in ANSWERS)
    assert all(DRAFT not in prompt and "5." not in prompt for prompt in verification_prompts)
    revise = model.history[-1][0][0]["content"]
    assert DRAFT in revise and draft.feedback in revise and "What is 2 + 2?" in revise


def test_a_plan_without_questions_keeps_the_draft() -> None:
    model = ScriptedModel([DRAFT, "The draft looks fine to me."])
    outcome = run_scripted(CoVe(), model, extract=extract_number)
    assert (outcome.stop_reason, outcome.text, outcome.usage.calls) == ("no_questions", DRAFT, 2)
    assert outcome.candidates[0].metadata["plan"] == "The draft looks fine to me."


def test_questions_are_capped_at_max_questions() -> None:
    model = ScriptedModel(reply)
    outcome = run_scripted(CoVe(max_questions=1), model, extract=extract_number)
    assert outcome.usage.calls == 4 and outcome.candidates[0].metadata["questions"] == ["What is 2 + 2?"]


@pytest.mark.parametrize(
    ("plan", "questions"),
    [
        ("1. Is A true?\n2) Is B true?\n**3.** Is C?", ["Is A true?", "Is B true?", "Is C?"]),
        ("- Is A true?\n- Is A true?\nSome prose.", ["Is A true?"]),
        ("Question 1: What is x?\nQ2. What is y?", ["What is x?", "What is y?"]),
        ("No questions needed.", []),
    ],
)
def test_parse_questions(plan: str, questions: list[str]) -> None:
    assert parse_questions(plan, 5) == questions


def test_cove_takes_no_feedback_source() -> None:
    with pytest.raises(StrategyError, match="cove verifies with its own questions"):
        CoVe(feedback=CriticFeedback())
    with pytest.raises(StrategyError, match="cove verifies"):
        build_strategy("cove@critic")


def test_budget_cut_before_the_revision_returns_the_draft_with_its_verifications() -> None:
    outcome = run_scripted(CoVe(), ScriptedModel(reply), budget=Budget(max_calls=4), extract=extract_number)
    assert (outcome.stop_reason, outcome.answer) == ("budget", "5")
    assert outcome.candidates[0].metadata["verifications"][0] == {"question": "What is 2 + 2?", "answer": "4"}

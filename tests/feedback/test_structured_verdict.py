"""A critique whose verdict line did not parse gets one constrained follow-up, where the model can.

The critique stays free text; only the one machine-readable line is asked again, constrained
to its two values, in the same conversation and role, traced and counted in the budget.
Models without the capability get plain-text parsing only, and are never sent `choices`.
"""

from __future__ import annotations

import asyncio

import pytest

from redraft.context import Budget, BudgetExhausted, Context
from redraft.feedback.critic import VERDICT_CHOICES, CriticFeedback
from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.tasks.base import Problem
from redraft.trace import CallRecord, Feedback, Verdict

PROBLEM = Problem(id="p", prompt="What is 17 * 23?")
RESOLVED = "Let me solve it myself. 17 * 23 = 391.\nThe answer is 391."


def judge(critic: ScriptedModel, budget: Budget | None = None) -> tuple[Feedback, list[CallRecord], Context]:
    records: list[CallRecord] = []

    def listen(event: object) -> None:
        if isinstance(event, CallRecord):
            records.append(event)

    ctx = Context({"generator": ManagedModel(critic, backoff_s=0.0)}, budget=budget, listeners=[listen])
    feedback = asyncio.run(CriticFeedback().judge(PROBLEM, "391", ctx))
    return feedback, records, ctx


def test_an_unreadable_critique_gets_a_constrained_follow_up_in_the_same_conversation() -> None:
    critic = ScriptedModel([RESOLVED, "VERDICT: revise"], supports_choices=True)
    feedback, records, ctx = judge(critic)
    assert feedback.verdict is Verdict.REVISE
    assert feedback.text == RESOLVED + "\nVERDICT: revise"  # the critique is kept whole
    [_, (messages, sampling)] = critic.history
    assert sampling["choices"] == VERDICT_CHOICES
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == RESOLVED
    assert [r.role for r in records] == ["critic", "critic"]
    assert records[1].sampling["choices"] == VERDICT_CHOICES
    assert ctx.ledger.calls_started == 2


def test_a_readable_critique_needs_no_follow_up() -> None:
    critic = ScriptedModel(["Fine.\n**VERDICT: correct**"], supports_choices=True)
    feedback, records, _ = judge(critic)
    assert feedback.verdict is Verdict.OK and len(records) == 1


def test_a_model_without_the_capability_is_parsed_as_plain_text_only() -> None:
    critic = ScriptedModel([RESOLVED])
    feedback, records, _ = judge(critic)
    assert feedback.verdict is Verdict.UNKNOWN  # recorded as unknown, not guessed
    assert len(records) == 1 and "choices" not in critic.history[0][1]


def test_the_follow_up_is_counted_in_the_budget() -> None:
    critic = ScriptedModel([RESOLVED, "VERDICT: correct"], supports_choices=True)
    with pytest.raises(BudgetExhausted):
        judge(critic, Budget(max_calls=1))
    assert len(critic.history) == 1


def test_the_follow_up_can_be_turned_off_by_spec() -> None:
    from redraft.feedback.registry import get_feedback

    source = get_feedback("critic[structured=false]")
    critic = ScriptedModel([RESOLVED], supports_choices=True)
    ctx = Context({"generator": ManagedModel(critic, backoff_s=0.0)})
    assert asyncio.run(source.judge(PROBLEM, "391", ctx)).verdict is Verdict.UNKNOWN
    assert len(critic.history) == 1

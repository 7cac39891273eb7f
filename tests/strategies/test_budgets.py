"""Budgets that are budgets: the token budget is never passed, short budgets still answer."""

from __future__ import annotations

import asyncio

import pytest

from redraft.api import build_strategy
from redraft.context import USEFUL_TOKENS, Budget, BudgetExhausted, Ledger, estimate_prompt_tokens
from redraft.models.base import Message
from redraft.models.scripted import ScriptedModel
from redraft.strategies.registry import STRATEGIES
from redraft.tasks.extract import extract_number
from tests.helpers import REQUIRED_PARAMS, run_scripted

REVISE = "The sum is wrong.\nVERDICT: revise"


def ledger(max_tokens: int | None = None, max_calls: int | None = None) -> Ledger:
    return Ledger(Budget(max_tokens=max_tokens, max_calls=max_calls), [])


def test_a_call_fits_on_its_worst_case_and_is_shortened_to_what_is_left() -> None:
    book = ledger(max_tokens=300)
    assert book.reserve(1, 20, 100).max_tokens == 100  # 20 + 100 fits: as asked
    assert book.tokens_in_flight == 120  # claimed until it settles, so a concurrent call sees it
    shortened = book.reserve(1, 20, 512)
    assert (shortened.max_tokens, book.limited) == (300 - 120 - 20, True)
    with pytest.raises(BudgetExhausted, match="token budget of 300 spent"):
        book.reserve(1, 20, 512)  # nothing useful is left while both are in flight
    book.settle(shortened)
    assert book.tokens_in_flight == 120


def test_a_call_is_not_shortened_below_a_useful_answer() -> None:
    with pytest.raises(BudgetExhausted):
        ledger(max_tokens=USEFUL_TOKENS + 9).reserve(1, 10, 512)
    assert ledger(max_tokens=USEFUL_TOKENS + 10).reserve(1, 10, 512).max_tokens == USEFUL_TOKENS
    assert ledger(max_tokens=30).reserve(1, 10, 16).max_tokens == 16  # asked for less than useful: fits


def test_samples_are_dropped_before_they_are_shortened_and_one_is_always_tried() -> None:
    assert ledger(max_tokens=250).reserve(5, 20, 100, partial=True).n == 2
    one = ledger(max_tokens=100).reserve(5, 20, 512, partial=True)
    assert (one.n, one.max_tokens) == (1, 80)
    assert ledger(max_calls=3).reserve(5, partial=True).n == 3
    with pytest.raises(BudgetExhausted):
        ledger(max_calls=3).reserve(5)  # without `partial`, all or nothing


def test_a_prompt_estimate_errs_high_for_english() -> None:
    text = "How many apples are left if Tom eats three of the seven he bought on Monday?"
    messages: list[Message] = [{"role": "user", "content": text}]
    assert estimate_prompt_tokens(messages) >= len(text) // 4 + 4


def test_a_50_token_budget_is_not_spent_2440_times_over() -> None:
    model = ScriptedModel(lambda messages: "word " * 400 + "The answer is 4.")
    outcome = run_scripted(build_strategy("self_consistency"), model, budget=Budget(max_tokens=50),
                           sampling={"max_tokens": 512}, extract=extract_number)
    assert (outcome.stop_reason, outcome.usage.total_tokens, model.history) == ("budget", 0, [])


def test_a_short_token_budget_samples_what_it_can_pay_for_in_full() -> None:
    model = ScriptedModel(lambda messages: "The answer is 4.")
    outcome = run_scripted(build_strategy("self_consistency"), model, budget=Budget(max_tokens=300),
                           sampling={"max_tokens": 100}, extract=extract_number)
    # 5 words of prompt + 100 a sample: 2 of the 5 samples fit, each at full length.
    assert (outcome.stop_reason, outcome.answer, len(model.history)) == ("budget", "4", 2)
    assert all(s["max_tokens"] == 100 for _, s in model.history)


SPECS = [*STRATEGIES.names(), "direct>self_consistency", "self_refine>best_of_n", "best_of_n>self_refine"]


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("budget", [150, 900])
def test_no_strategy_spends_more_tokens_than_its_budget(spec: str, budget: int) -> None:
    # Long replies, cut at max_tokens by the scripted model, whose token counts are exact.
    reply = "Step 1: 2 + 2 = 4. Score: 3/10 " * 30 + "\nVERDICT: revise\nThe answer is 4."
    model = ScriptedModel(lambda messages: reply)
    outcome = run_scripted(build_strategy(spec, **REQUIRED_PARAMS.get(spec, {})), model,
                           budget=Budget(max_tokens=budget), sampling={"temperature": 0.0, "max_tokens": 120},
                           extract=extract_number)
    assert model.history and outcome.usage.total_tokens <= budget


def test_a_budget_cut_inside_a_drafter_returns_the_drafters_own_pick() -> None:
    # self_refine drafts for direct: draft, critique, then the refinement is cut.
    model = ScriptedModel(["The answer is 5.", REVISE])
    outcome = run_scripted(build_strategy("self_refine>direct"), model, budget=Budget(max_calls=2),
                           extract=extract_number)
    assert (outcome.stop_reason, outcome.answer, len(model.history)) == ("budget", "5", 2)


def test_drafter_runs_the_budget_cut_before_they_drafted_give_no_draft() -> None:
    # direct drafts for self_consistency (k=5); 3 calls: 3 drafts, voted, no empty answers.
    model = ScriptedModel(["The answer is 5.", "The answer is 4.", "The answer is 4."])
    outcome = run_scripted(build_strategy("direct>self_consistency"), model, budget=Budget(max_calls=3),
                           extract=extract_number)
    assert (outcome.stop_reason, outcome.answer) == ("budget", "4")
    assert [c.answer for c in outcome.candidates] == ["5", "4", "4"]


def test_concurrent_calls_share_one_claim_on_the_budget() -> None:
    from redraft.context import Context, gather
    from tests.helpers import managed

    model = ScriptedModel(lambda messages: "x " * 200)
    ctx = Context({"generator": managed(model)}, budget=Budget(max_tokens=300),
                  sampling={"max_tokens": 100})
    messages: list[Message] = [{"role": "user", "content": "q"}]

    async def go() -> None:
        with pytest.raises(BudgetExhausted):
            await gather(*(ctx.complete("generator", messages) for _ in range(4)))

    asyncio.run(go())
    # 1 + 100 twice, then the third is shortened to the 97 left after its prompt; the fourth is refused.
    assert [s["max_tokens"] for _, s in model.history] == [100, 100, 97]
    assert ctx.usage.total_tokens == 300

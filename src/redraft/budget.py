"""Budgets that are budgets: a call is sent only if its worst case fits what is left.

Kept apart from the kernel (`redraft.context`), which only asks `reserve` before each call and
`settle`s after it: the accounting rules (worst case, partial samples, shortened calls, the
useful minimum) are here, in one place, next to the constants they use.
"""

from __future__ import annotations

import math
from collections import defaultdict

from pydantic import BaseModel

from redraft.models.base import Message, Usage


class Budget(BaseModel):
    """Limits on one solve. None means unlimited. Both are hard: a call is sent only if it fits."""

    max_calls: int | None = None
    max_tokens: int | None = None


class BudgetExhausted(Exception):
    """Raised by `Context.complete` before a call the budget does not allow."""


#: The fewest completion tokens a call may be shortened to so that it fits the token budget;
#: below this an answer is rarely more than its first sentence, so the call is not sent at all.
#: A call that asked for fewer (`max_tokens` below this) is never lengthened, only kept or refused.
USEFUL_TOKENS = 64

#: Prompt-token estimate for a model that cannot count its own (`count_tokens`): characters per
#: token (BPE tokenizers average about 4 on English; 3 errs toward overestimating) ...
CHARS_PER_TOKEN = 3
#: ... plus the chat template's tokens around each message (role markers, separators).
MESSAGE_OVERHEAD = 8


def estimate_prompt_tokens(messages: list[Message]) -> int:
    """A conservative prompt-token count: ceil(chars / CHARS_PER_TOKEN) + MESSAGE_OVERHEAD a message.

    Used only where the model has no tokenizer to ask, to decide whether a call fits the token
    budget before it is sent; the recorded usage is always the endpoint's own count.
    """
    return sum(math.ceil(len(m["content"]) / CHARS_PER_TOKEN) + MESSAGE_OVERHEAD for m in messages)


class Grant(BaseModel):
    """What the budget lets one `complete_n` send: how many samples, and each one's `max_tokens`."""

    n: int
    max_tokens: int | None
    worst_case: int = 0


class BudgetAccount:
    """The budget counters of one solve: calls started, tokens spent and claimed, usage by role."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.usage_by_role: dict[str, Usage] = defaultdict(Usage)
        self.calls_started = 0
        #: Worst-case tokens of the calls in flight, claimed until their real usage is known.
        self.tokens_in_flight = 0
        #: Set when the budget refused a call, or gave fewer samples or shorter answers than
        #: asked, so the run reports stop reason "budget" even if the strategy finished its loop.
        self.limited = False

    def reserve(self, calls: int, prompt_tokens: int = 0, max_tokens: int | None = None,
                *, partial: bool = False) -> Grant:
        """Claim `calls` generations of at most `max_tokens` each, or raise BudgetExhausted.

        The token budget is checked against the worst case, prompt_tokens + max_tokens per
        sample, on top of what was spent and what calls in flight may still spend, so the total
        can never pass it. What does not fit is cut in this order: with `partial`, samples are
        dropped until the rest fit at full length (at least one is kept); then `max_tokens` is
        lowered to an even share of what is left, if that is at least `USEFUL_TOKENS` (or the
        length asked for, when shorter). A call without `max_tokens` under a token budget gets
        its share of what is left as its cap.
        """
        try:
            grant = self._fit(calls, prompt_tokens, max_tokens, partial)
        except BudgetExhausted:
            self.limited = True
            raise
        if self.budget.max_tokens is not None:
            self.tokens_in_flight += grant.worst_case
        shortened = max_tokens is not None and grant.max_tokens is not None and grant.max_tokens < max_tokens
        self.limited = self.limited or grant.n < calls or shortened
        self.calls_started += grant.n
        return grant

    def _fit(self, calls: int, prompt_tokens: int, max_tokens: int | None, partial: bool) -> Grant:
        budget = self.budget
        n = calls
        if budget.max_calls is not None and self.calls_started + n > budget.max_calls:
            left = budget.max_calls - self.calls_started
            if not partial or left < 1:
                raise BudgetExhausted(f"call budget of {budget.max_calls} spent")
            n = left
        grant = Grant(n=n, max_tokens=max_tokens)
        return grant if budget.max_tokens is None else self._fit_tokens(grant, prompt_tokens, partial)

    def _fit_tokens(self, grant: Grant, prompt_tokens: int, partial: bool) -> Grant:
        """The largest part of `grant` whose worst case fits the tokens left (see `reserve`)."""
        assert self.budget.max_tokens is not None
        left = self.budget.max_tokens - self.total_tokens() - self.tokens_in_flight
        wanted = grant.max_tokens
        n = grant.n
        if partial:
            n = min(n, max(1, left // (prompt_tokens + (wanted or USEFUL_TOKENS))))
        cap = (left - n * prompt_tokens) // n
        if wanted is not None:
            cap = min(cap, wanted)
        if cap < min(USEFUL_TOKENS, wanted or USEFUL_TOKENS):
            raise BudgetExhausted(f"token budget of {self.budget.max_tokens} spent "
                                  f"({max(left, 0)} left, the next call needs more)")
        return Grant(n=n, max_tokens=cap, worst_case=n * (prompt_tokens + cap))

    def settle(self, grant: Grant) -> None:
        """Release a finished (or failed) call's claim; its real usage is counted instead."""
        self.tokens_in_flight -= grant.worst_case

    def total_tokens(self) -> int:
        return sum(u.total_tokens for u in self.usage_by_role.values())

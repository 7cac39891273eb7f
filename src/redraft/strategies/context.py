"""Moved: the kernel is `redraft.context`, the record values are `redraft.trace`.

Kept for one release so imports of the first one keep working.
"""

from redraft.context import (  # noqa: F401
    Budget,
    BudgetExhausted,
    Context,
    Drafter,
    Ledger,
    both,
    gather,
)
from redraft.trace import CallRecord, Candidate, Event, Feedback, Listener, Verdict  # noqa: F401

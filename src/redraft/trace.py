"""The plain record values a trace is made of: verdicts, feedback, candidates, calls, events.

A leaf module (it imports nothing of redraft), so the run store, the live view, the
exporter and the server can read traces without loading a single strategy.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field


class Verdict(StrEnum):
    """What a judge decided. UNKNOWN means its output could not be parsed."""

    OK = "ok"
    REVISE = "revise"
    UNKNOWN = "unknown"


class Feedback(BaseModel):
    """A judgement: the verdict, an optional score and text the refiner can use."""

    verdict: Verdict
    text: str = ""
    score: float | None = None


class CallRecord(BaseModel):
    """One model call as the trace keeps it."""

    seq: int
    role: str
    model: str
    messages: list[dict[str, Any]]
    sampling: dict[str, Any] = Field(default_factory=dict)
    text: str = ""
    texts: list[str] = Field(default_factory=list)
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    attempts: int = 1
    cached: bool = False
    error: str | None = None
    stage: str | None = None


class Candidate(BaseModel):
    """One candidate answer with the judgement it got, as the trace keeps it.

    `call_seq` is the call whose output this text is (None for text no call wrote, such as
    MCTSr's dummy answer), and `stage` the composition stage that produced it (None for the
    outer strategy's own candidates): what an exporter needs to pair prompts with outputs.
    """

    seq: int
    round: int
    kind: str
    text: str
    answer: str | None = None
    feedback: str | None = None
    verdict: Verdict | None = None
    score: float | None = None
    parent: int | None = None
    call_seq: int | None = None
    stage: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class Pick(BaseModel):
    """The answer a strategy would have given had it stopped after `round`, as it was at that moment.

    Emitted while the strategy runs (not re-derived afterwards), so a later change to a
    candidate (MCTSr's back-propagated Q, a re-grade) cannot rewrite what an earlier round
    picked: accuracy-by-round and flips score these. The last round's pick is the final
    answer. `candidate_seq` is None when nothing had been recorded; `stage` is None for
    the outer strategy.
    """

    round: int
    candidate_seq: int | None = None
    text: str = ""
    answer: str | None = None
    score: float | None = None
    stage: str | None = None


Event = CallRecord | Candidate | Pick
Listener = Callable[[Event], None]

"""The result of running a strategy on one problem: the product a run stores."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from redraft.models.base import Usage
from redraft.trace import Candidate, Pick


class Outcome(BaseModel):
    """The final answer, every candidate with its feedback, and what it cost."""

    run_id: str | None = None
    strategy: str
    strategy_params: dict[str, Any] = Field(default_factory=dict)
    problem_id: str
    answer: str | None
    text: str
    stop_reason: str
    oracle: bool = False
    candidates: list[Candidate] = Field(default_factory=list)
    #: The answer after each round, as picked at the time (the last is the final answer).
    picks: list[Pick] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    usage_by_role: dict[str, Usage] = Field(default_factory=dict)
    wall_s: float = 0.0

    def to_summary(self) -> dict[str, Any]:
        """The `--json` shape of `redraft run`."""
        return {
            "run_id": self.run_id,
            "strategy": self.strategy,
            "answer": self.answer,
            "oracle": self.oracle,
            "stop_reason": self.stop_reason,
            "rounds": [
                {
                    "round": c.round,
                    "kind": c.kind,
                    "candidate": c.text,
                    "feedback": c.feedback,
                    "verdict": c.verdict.value if c.verdict else None,
                    "score": c.score,
                }
                for c in self.candidates
            ],
            "usage": {
                "calls": self.usage.calls,
                "prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens,
            },
        }

"""The signals a router decides on, and the numbers (features) a policy reads off them.

Every signal is cheap next to the actions it chooses between, and recorded on the run (the draft
candidate's `metadata["signals"]`), so `redraft route fit` learns from exactly what the router will
see when it runs. A signal the run did not measure (no critic asked, a model without logprobs) is
None, never a made-up value; the features built from it are then absent, and a policy that needs
them refuses such a run instead of guessing.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel

#: What each feature is, as the policy file documents it (`redraft route show` prints these).
FEATURES: dict[str, str] = {
    "agreement": "share of the quick samples whose extracted answer equals the draft's (0 when the draft "
                 "has none)",
    "modal_share": "share of all answers (draft and quick samples, no answer counted as a vote for nothing) "
                   "that went to the most common one",
    "distinct": "distinct extracted answers among the draft and the quick samples, over their number",
    "no_answer": "1 when no answer could be extracted from the draft",
    "truncated": "1 when the draft stopped at max_tokens (finish reason length)",
    "log_draft_tokens": "log(1 + completion tokens of the draft)",
    "critic_ok": "1 when the critic's verdict on the draft is OK",
    "critic_unknown": "1 when the critic's verdict could not be parsed",
    "critic_score": "the critic's score of the draft, 0-1 (0.5 when it gave none)",
    "mean_logprob": "mean token log-probability of the draft",
    "p_true": "P(True) of the draft, from the verifier's logprobs (0.5 when its reply named no option)",
    "log_spent_tokens": "log(1 + tokens spent on the problem before the decision)",
}
#: Indicators of the task and its answer type (`task=multiarith`, `answer_type=numeric`): a policy fitted
#: on several tasks keeps those that vary in training, each documented as such.
TASK_PREFIX = "task="
ANSWER_TYPE_PREFIX = "answer_type="


class Signals(BaseModel):
    """What was measured about one problem before a decision (None: not measured on this run)."""

    draft_answer: str | None
    sample_answers: list[str | None]
    draft_tokens: int
    truncated: bool
    task: str = "unknown"
    answer_type: str = "unknown"
    spent_tokens: int
    critic_verdict: str | None = None  # "ok", "revise", "unknown"
    critic_score: float | None = None
    mean_logprob: float | None = None
    p_true: float | None = None
    #: Whether P(True) was asked (it may be asked and unreadable: p_true None, asked True).
    p_true_asked: bool = False

    def features(self) -> dict[str, float]:
        """The numbers a policy reads (see `FEATURES`); those of unmeasured signals are left out."""
        out: dict[str, float] = {
            "no_answer": float(self.draft_answer is None),
            "truncated": float(self.truncated),
            "log_draft_tokens": math.log1p(max(0, self.draft_tokens)),
            "log_spent_tokens": math.log1p(max(0, self.spent_tokens)),
            TASK_PREFIX + self.task: 1.0,
            ANSWER_TYPE_PREFIX + self.answer_type: 1.0,
        }
        if self.sample_answers:
            out |= agreement_features(self.draft_answer, self.sample_answers)
        if self.critic_verdict is not None:
            out["critic_ok"] = float(self.critic_verdict == "ok")
            out["critic_unknown"] = float(self.critic_verdict == "unknown")
            out["critic_score"] = 0.5 if self.critic_score is None else float(self.critic_score)
        if self.mean_logprob is not None:
            out["mean_logprob"] = float(self.mean_logprob)
        if self.p_true_asked:
            out["p_true"] = 0.5 if self.p_true is None else float(self.p_true)
        return out


def agreement_features(answer: str | None, samples: Sequence[str | None]) -> dict[str, float]:
    """Agreement of `samples` with `answer`, the modal share and the spread of all of them."""
    agreeing = sum(1 for s in samples if answer is not None and s == answer)
    every = [answer, *samples]
    counts = Counter(a for a in every if a is not None)
    modal = max(counts.values()) if counts else 0
    return {
        "agreement": agreeing / len(samples),
        "modal_share": modal / len(every),
        "distinct": len(counts) / len(every),
    }


def mean_logprob(logprobs: Sequence[float]) -> float | None:
    """The mean of a reply's token log-probabilities (None for a reply with none)."""
    return sum(logprobs) / len(logprobs) if logprobs else None

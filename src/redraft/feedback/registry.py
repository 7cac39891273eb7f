"""Feedback sources by name, shared by the CLI, the evaluation runner and the server.

Specs: `critic`, `checklist`, `step_reward`, `mqm`, `asker`, `program`, `tests` (visible tests, failing tests
listed), `tests:pass_fail` (pass/fail only), `tests:hidden` (the grading tests:
an oracle), `oracle` (the task's scorer: an oracle).
"""

from __future__ import annotations

from pydantic import BaseModel

from redraft.feedback.asker import AskerFeedback
from redraft.feedback.base import FeedbackSource
from redraft.feedback.checklist import ChecklistFeedback
from redraft.feedback.critic import CriticFeedback
from redraft.feedback.mqm import MQMFeedback
from redraft.feedback.oracle import OracleFeedback
from redraft.feedback.program import ProgramFeedback
from redraft.feedback.reward import StepReward
from redraft.feedback.tests import TestsFeedback
from redraft.tasks.base import Task


class FeedbackInfo(BaseModel):
    name: str
    oracle: bool
    description: str


FEEDBACK_SOURCES = [
    FeedbackInfo(name="critic", oracle=False,
                 description="an LLM critique ending in VERDICT: correct|revise"),
    FeedbackInfo(name="checklist", oracle=False,
                 description="an LLM ticks a checklist/rubric; score = fraction met"),
    FeedbackInfo(name="step_reward", oracle=False,
                 description="the model scores each step and the whole solution (a self reward model)"),
    FeedbackInfo(name="mqm", oracle=False,
                 description="MQM error annotation of a translation; score = -penalty (TEaR)"),
    FeedbackInfo(name="asker", oracle=False,
                 description="subquestions: does the candidate answer them all? (ART)"),
    FeedbackInfo(name="program", oracle=False,
                 description="the model writes verify(answer); the sandbox runs it (ProgCo)"),
    FeedbackInfo(name="tests", oracle=False,
                 description="visible unit tests run in the sandbox; failing tests listed"),
    FeedbackInfo(name="tests:pass_fail", oracle=False,
                 description="visible unit tests; pass/fail only"),
    FeedbackInfo(name="tests:hidden", oracle=True,
                 description="the hidden grading tests (upper bound only)"),
    FeedbackInfo(name="oracle", oracle=True,
                 description="the task's scorer against the reference (upper bound only)"),
]


class FeedbackError(ValueError):
    """A feedback spec that names no source, or one the task cannot support."""


def get_feedback(spec: str, task: Task | None = None) -> FeedbackSource:
    match spec:
        case "critic":
            return CriticFeedback()
        case "checklist":
            return ChecklistFeedback()
        case "program":
            return ProgramFeedback()
        case "step_reward":
            return StepReward()
        case "mqm":
            return MQMFeedback()
        case "asker":
            return AskerFeedback()
        case "tests" | "tests:failing_tests":
            return TestsFeedback()
        case "tests:pass_fail":
            return TestsFeedback(detail="pass_fail")
        case "tests:hidden":
            return TestsFeedback(hidden=True)
        case "oracle":
            if task is None:
                raise FeedbackError("oracle feedback needs a task with reference answers (--task)")
            return OracleFeedback(task)
    names = ", ".join(info.name for info in FEEDBACK_SOURCES)
    raise FeedbackError(f"unknown feedback source {spec!r}; choose from: {names}")

"""Feedback sources: what judges a candidate."""

from redraft.feedback.asker import AskerFeedback
from redraft.feedback.base import Feedback, FeedbackSource, Verdict
from redraft.feedback.checklist import ChecklistFeedback
from redraft.feedback.critic import CriticFeedback
from redraft.feedback.mqm import MQMFeedback
from redraft.feedback.oracle import OracleFeedback
from redraft.feedback.program import ProgramFeedback
from redraft.feedback.registry import FEEDBACK_SOURCES, FeedbackError, get_feedback
from redraft.feedback.reward import StepReward
from redraft.feedback.tests import TestsFeedback
from redraft.feedback.verdict import parse_verdict

__all__ = [
    "AskerFeedback", "MQMFeedback", "StepReward",
    "FEEDBACK_SOURCES", "ChecklistFeedback", "CriticFeedback", "Feedback", "FeedbackError",
    "FeedbackSource", "OracleFeedback", "ProgramFeedback", "TestsFeedback", "Verdict",
    "get_feedback", "parse_verdict",
]

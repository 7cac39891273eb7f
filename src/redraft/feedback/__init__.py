"""Feedback sources: what judges a candidate. Importing a source's module registers it."""

from redraft.feedback.asker import AskerFeedback
from redraft.feedback.base import FeedbackSource, Source
from redraft.feedback.checklist import ChecklistFeedback
from redraft.feedback.critic import CriticFeedback
from redraft.feedback.mqm import MQMFeedback
from redraft.feedback.oracle import OracleFeedback
from redraft.feedback.program import ProgramFeedback
from redraft.feedback.registry import FEEDBACK, FeedbackError, feedback_sources, get_feedback, register
from redraft.feedback.reward import StepReward
from redraft.feedback.tests import TestsFeedback
from redraft.feedback.verdict import parse_verdict
from redraft.trace import Feedback, Verdict

__all__ = [
    "FEEDBACK", "AskerFeedback", "ChecklistFeedback", "CriticFeedback", "Feedback", "FeedbackError",
    "FeedbackSource", "MQMFeedback", "OracleFeedback", "ProgramFeedback", "Source", "StepReward",
    "TestsFeedback", "Verdict", "feedback_sources", "get_feedback", "parse_verdict", "register",
]

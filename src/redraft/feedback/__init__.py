"""Feedback sources: what judges a candidate."""

from redraft.feedback.base import Feedback, FeedbackSource, Verdict
from redraft.feedback.critic import CriticFeedback
from redraft.feedback.verdict import parse_verdict

__all__ = ["CriticFeedback", "Feedback", "FeedbackSource", "Verdict", "parse_verdict"]

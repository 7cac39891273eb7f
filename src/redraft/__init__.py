"""redraft: make an LLM draft, get feedback and redraft, and measure whether it helped."""

from redraft.api import arefine, refine
from redraft.feedback import CriticFeedback, Feedback, FeedbackSource, Verdict
from redraft.models import (
    Completion,
    LocalModel,
    ManagedModel,
    Model,
    ModelConfig,
    ModelError,
    OpenAICompatibleModel,
    ScriptedModel,
)
from redraft.runs.outcome import Outcome
from redraft.runs.store import RunStore
from redraft.strategies import Budget, Context, Strategy, register
from redraft.tasks.base import Problem, Task

__version__ = "0.1.0"

__all__ = [
    "Budget", "Completion", "Context", "CriticFeedback", "Feedback", "FeedbackSource",
    "LocalModel", "ManagedModel", "Model", "ModelConfig", "ModelError", "OpenAICompatibleModel",
    "Outcome", "Problem", "RunStore", "ScriptedModel", "Strategy", "Task", "Verdict", "arefine",
    "refine", "register",
]

"""redraft: make an LLM draft, get feedback and redraft, and measure whether it helped.

Names are loaded on first use, so reading a trace (`redraft.trace`, the run store) or
starting the CLI does not import all seventeen strategies and the model backends.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "arefine": "redraft.api", "refine": "redraft.api", "build_strategy": "redraft.api",
    "evaluate": "redraft.api", "aevaluate": "redraft.api",
    "Budget": "redraft.context", "Context": "redraft.context",
    "CriticFeedback": "redraft.feedback", "FeedbackSource": "redraft.feedback",
    "Feedback": "redraft.trace", "Verdict": "redraft.trace", "Candidate": "redraft.trace",
    "CallRecord": "redraft.trace",
    "Completion": "redraft.models", "LocalModel": "redraft.models", "ManagedModel": "redraft.models",
    "Model": "redraft.models", "ModelConfig": "redraft.models", "ModelError": "redraft.models",
    "OpenAICompatibleModel": "redraft.models", "ScriptedModel": "redraft.models",
    "Outcome": "redraft.runs.outcome", "RunStore": "redraft.runs.store",
    "Strategy": "redraft.strategies", "register": "redraft.strategies",
    "Problem": "redraft.tasks.base", "Task": "redraft.tasks.base",
    "RedraftError": "redraft.errors",
}

__all__ = [
    "aevaluate",
    "evaluate",
    "Budget",
    "CallRecord",
    "Candidate",
    "Completion",
    "Context",
    "CriticFeedback",
    "Feedback",
    "FeedbackSource",
    "LocalModel",
    "ManagedModel",
    "Model",
    "ModelConfig",
    "ModelError",
    "OpenAICompatibleModel",
    "Outcome",
    "Problem",
    "RedraftError",
    "RunStore",
    "ScriptedModel",
    "Strategy",
    "Task",
    "Verdict",
    "arefine",
    "build_strategy",
    "refine",
    "register",
]

if TYPE_CHECKING:
    from redraft.api import aevaluate, arefine, build_strategy, evaluate, refine
    from redraft.context import Budget, Context
    from redraft.errors import RedraftError
    from redraft.feedback import CriticFeedback, FeedbackSource
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
    from redraft.strategies import Strategy, register
    from redraft.tasks.base import Problem, Task
    from redraft.trace import CallRecord, Candidate, Feedback, Verdict


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'redraft' has no attribute {name!r}")

"""The model layer: one async protocol, its implementations and the managed wrapper."""

from redraft.models.base import Completion, Message, Model, ModelError, RetryableModelError, Usage
from redraft.models.local import LocalModel
from redraft.models.managed import ManagedModel
from redraft.models.openai_compat import OpenAICompatibleModel
from redraft.models.resolve import ModelConfig, build_model, managed_model
from redraft.models.scripted import ScriptedModel

__all__ = [
    "Completion", "LocalModel", "ManagedModel", "Message", "Model", "ModelConfig", "ModelError",
    "OpenAICompatibleModel", "RetryableModelError", "ScriptedModel", "Usage", "build_model",
    "managed_model",
]

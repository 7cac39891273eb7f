"""Test doubles that are useful beyond redraft's own tests: a fake OpenAI-compatible server.

`ScriptedModel` (in `redraft.models`) fakes a model in-process; `FakeOpenAIServer`
fakes an endpoint over real HTTP, for client, proxy and benchmark code paths.
"""

from redraft.testing.fake_openai import MALFORMED, FakeOpenAIServer, FakeReply, serve, serve_app
from redraft.testing.faults import FaultInjector, fault_kinds

__all__ = ["MALFORMED", "FakeOpenAIServer", "FakeReply", "FaultInjector", "fault_kinds", "serve", "serve_app"]

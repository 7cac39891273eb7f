"""`redraft serve`: an OpenAI- and Anthropic-compatible proxy that puts a strategy between any
client and its model, changing nothing in the client but its base URL.

A thin layer over the library: a request becomes a `run_strategy` call (or a byte-for-byte
forward when it names no strategy), recorded in the run store like any other run. The `server`
extra (`pip install 'redraft[server]'`) brings what the HTTP side needs beyond the core.
"""

from __future__ import annotations

from redraft.server.config import ServerConfig

__all__ = ["ServerConfig"]

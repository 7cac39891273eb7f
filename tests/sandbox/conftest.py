"""Fixtures for the sandbox tests. Tests run coroutines with plain `asyncio.run`,
so no pytest plugin is needed."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from redraft.sandbox import Isolation, _detect


@pytest.fixture
def forced_mode(request: pytest.FixtureRequest) -> Iterator[Isolation]:
    """Run with a weaker mode (``userns`` or ``guard``) as if it were all this machine had."""
    mode = request.param
    mechanisms = {"userns": ("netns", "ipcns", "rlimits"), "guard": ("rlimits", "socket-guard")}[mode]
    saved = _detect._cached
    if mode == "userns":
        try:
            _detect._probe("userns", sys.executable)
        except Exception as exc:  # noqa: BLE001
            pytest.skip(f"no unprivileged user namespaces here: {exc}")
    forced = Isolation(
        mode=mode,
        mechanisms=mechanisms,
        interpreter=sys.executable,
        python_version=".".join(map(str, sys.version_info[:3])),
    )
    _detect._cached = forced
    try:
        yield forced
    finally:
        _detect._cached = saved

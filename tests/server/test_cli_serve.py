"""`redraft serve` as a command, with models fixed in the app, and on the embedded model."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import openai
import pytest
from typer.testing import CliRunner

from redraft.cli import app
from redraft.cli.serving import is_loopback
from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.server.app import create_app
from redraft.server.config import ServerConfig
from redraft.testing import FakeOpenAIServer, FakeReply, serve, serve_app
from tests.server.conftest import raw


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process.poll() is not None:
            raise AssertionError(
                f"redraft serve exited: {process.stderr.read().decode() if process.stderr else ''}"
            )
        try:
            if raw("GET", url + "/health", timeout=1).status == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("redraft serve did not become healthy")


def test_the_command_serves_a_default_strategy_and_records_runs(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "runs.db"
    with serve(FakeOpenAIServer(replies=[FakeReply("The answer is 18.")])) as upstream:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "redraft",
                "serve",
                "--upstream",
                upstream.base_url,
                "--port",
                str(port),
                "--strategy",
                "self_consistency[k=3]",
                "--upstream-api-key",
                "sk-up",
                "--db",
                str(db),
            ],
            stderr=subprocess.PIPE,
            env={**os.environ},
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_healthy(url, process)
            client = openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0)
            response = client.chat.completions.with_raw_response.create(
                model="fake-model", messages=[{"role": "user", "content": "9+9?"}]
            )
            assert response.headers["x-redraft-strategy"] == "self_consistency[k=3]"
            assert response.parse().choices[0].message.content == "The answer is 18."
        finally:
            process.terminate()
            process.wait(10)
        listed = subprocess.run(
            [sys.executable, "-m", "redraft", "runs", "list", "--db", str(db)],
            capture_output=True,
            text=True,
            check=True,
        )
        assert "self_consistency" in listed.stdout


def test_a_bad_default_strategy_is_refused_before_serving() -> None:
    result = CliRunner().invoke(app, ["serve", "--strategy", "no_such_method"])
    assert result.exit_code == 1 and "no_such_method" in result.output


def test_a_public_bind_without_a_key_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    from aiohttp import web

    monkeypatch.setattr(web, "run_app", lambda *a, **k: None)
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--upstream", "http://127.0.0.1:9/v1"])
    assert result.exit_code == 0 and "no --api-key" in result.output
    quiet = CliRunner().invoke(
        app, ["serve", "--host", "0.0.0.0", "--api-key", "k", "--upstream", "http://127.0.0.1:9/v1"]
    )
    assert "no --api-key" not in quiet.output
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1")


def test_fixed_models_serve_without_any_upstream(tmp_path: Path) -> None:
    script = ScriptedModel(["draft", "It is fine.\nVERDICT: correct", "plain"])
    config = ServerConfig(store_path=tmp_path / "runs.db")
    with serve_app(lambda: create_app(config, models={"generator": ManagedModel(script)})) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0)
        completion = client.chat.completions.create(
            model="self_refine/anything", messages=[{"role": "user", "content": "q"}]
        )
        assert completion.choices[0].message.content == "draft"
        plain = client.chat.completions.create(model="anything", messages=[{"role": "user", "content": "q"}])
        assert plain.model_extra["redraft"]["strategy"] == "direct"  # type: ignore[index]
    assert len(script.history) == 3


@pytest.mark.slow
def test_the_embedded_model_serves_a_strategy(tmp_path: Path) -> None:
    config = ServerConfig(store_path=tmp_path / "runs.db")
    with serve_app(lambda: create_app(config), handler_cancellation=True) as url:
        client = openai.OpenAI(base_url=url + "/v1", api_key="x", max_retries=0, timeout=120)
        completion: Any = client.chat.completions.create(
            model="self_refine[max_rounds=1]/local",
            max_tokens=48,
            messages=[{"role": "user", "content": "What is 2 + 2? Answer with a number."}],
        )
        assert completion.choices[0].message.content
        assert completion.usage.completion_tokens > 0
        assert completion.model_extra["redraft"]["calls"] >= 2
        stream = client.chat.completions.create(
            model="local", max_tokens=16, stream=True, messages=[{"role": "user", "content": "Say hi."}]
        )
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

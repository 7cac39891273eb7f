"""Outside packages add strategies, feedback sources and tasks through entry points.

The plugin here is a real distribution, installed the way pip installs one: a package
directory plus its `.dist-info` (METADATA, entry_points.txt) on the path of a fresh
`redraft` process. Nothing in redraft knows its name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from redraft.testing import FakeOpenAIServer, FakeReply, serve

PLUGIN = '''
from pydantic import BaseModel, Field

from redraft.context import Context
from redraft.feedback.base import Source
from redraft.feedback.registry import register as register_feedback
from redraft.strategies.base import Final, Strategy
from redraft.tasks.base import Problem, Score, Task, register as register_task
from redraft.trace import Feedback, Verdict


class Twice(Strategy):
    """Drafts once, asks the refiner to say it again, keeps the second."""

    name = "twice"
    paper = "a plugin"
    roles = ("generator", "refiner")

    class Params(BaseModel):
        suffix: str = Field("!", description="appended to the prompt of the second call")

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        first = ctx.record(round=0, kind="draft", text=await ctx.first_draft(problem))
        if self.feedback is not None:
            await ctx.judge(self.feedback, problem, first)
        again = await ctx.ask("refiner", problem.prompt + self.params.suffix)
        return Final(candidate=ctx.record(round=1, kind="refine", text=again, parent=first.seq),
                     stop_reason="twice")


@register_feedback
class Short(Source):
    name = "short"
    description = "ok when the candidate is short"

    class Params(BaseModel):
        limit: int = 20

    def __init__(self, limit: int = 20) -> None:
        self.limit = limit

    async def judge(self, problem, candidate, ctx):
        ok = len(candidate) <= self.limit
        return Feedback(verdict=Verdict.OK if ok else Verdict.REVISE, text=f"{len(candidate)} chars")


@register_task
class Tiny(Task):
    name = "tiny"
    description = "two sums"
    answer_type = "text"

    def load(self, limit=None):
        problems = [Problem(id="tiny/0", prompt="1+1?", reference="2"),
                    Problem(id="tiny/1", prompt="2+2?", reference="4")]
        return problems[:limit]

    async def score(self, problem, text):
        return Score(correct=problem.reference in text, reference=problem.reference)
'''

ENTRY_POINTS = """\
[redraft.strategies]
twice = redraft_twice_plugin:Twice

[redraft.feedback]
short = redraft_twice_plugin

[redraft.tasks]
tiny = redraft_twice_plugin
"""


@pytest.fixture
def plugin_path(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    (site / "redraft_twice_plugin").mkdir(parents=True)
    (site / "redraft_twice_plugin" / "__init__.py").write_text(PLUGIN)
    info = site / "redraft_twice_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: redraft-twice-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    (info / "RECORD").write_text("")
    return site


def redraft(site: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "redraft", *args], capture_output=True, text=True,
                          timeout=120, env=env)


def test_a_plugin_distribution_adds_a_strategy_a_feedback_source_and_a_task(plugin_path: Path) -> None:
    listed = redraft(plugin_path, "strategies", "--json")
    assert listed.returncode == 0, listed.stderr
    [twice] = [s for s in json.loads(listed.stdout) if s["name"] == "twice"]
    assert twice["roles"] == ["generator", "refiner"] and twice["params"]["suffix"]["default"] == "!"
    sources = json.loads(redraft(plugin_path, "feedback", "--json").stdout)
    assert "short" in [s["name"] for s in sources]
    tasks = json.loads(redraft(plugin_path, "tasks", "--json").stdout)
    [tiny] = [t for t in tasks if t["name"] == "tiny"]
    assert tiny["size"] == 2 and tiny["spec"] == "tiny"

    with serve(FakeOpenAIServer(replies=[FakeReply("It is 2."), FakeReply("Still 2.")])) as server:
        ran = redraft(plugin_path, "run", "--task", "tiny", "--problem", "0", "--base-url", server.base_url,
                      "--strategy", "twice[suffix=?]@short[limit=3]", "--json")
    assert ran.returncode == 0, ran.stderr
    out = json.loads(ran.stdout)
    assert out["answer"] == "Still 2." and out["stop_reason"] == "twice" and out["score"]["correct"]
    assert out["rounds"][0]["verdict"] == "revise" and out["rounds"][0]["feedback"] == "8 chars"
    assert server.requests[1]["messages"][0]["content"] == "1+1??"


def test_a_plugin_that_fails_to_load_is_named_not_skipped(plugin_path: Path) -> None:
    (plugin_path / "redraft_twice_plugin" / "__init__.py").write_text("raise RuntimeError('broken')\n")
    listed = redraft(plugin_path, "strategies")
    assert listed.returncode == 1
    assert "strategy plugin 'twice'" in listed.stderr and "broken" in listed.stderr

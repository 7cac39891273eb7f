"""The second set end to end over HTTP: `redraft eval` and `redraft run` against the fake endpoint."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from redraft.testing import FakeOpenAIServer, FakeReply, serve
from tests.test_cli import redraft

SECOND_SET = ["iort", "filtered_vote[k=2]", "cove", "rci", "strategy_switch", "self_refine[stop=fixpoint]"]


def respond(body: dict[str, Any]) -> FakeReply:
    """A model that follows each prompt's format; the critic's verdict varies with what it reads."""
    last = body["messages"][-1]["content"]
    if "BETTER:" in last:
        return FakeReply("The second one adds correctly.\nBETTER: 2")
    if "DECISION:" in last:
        return FakeReply("Both are sound.\nDECISION: stop")
    if last.startswith("Below are a question and a draft answer"):
        return FakeReply("1. How many are there at the start?\n2. How many are added?")
    if "Python program" in last:
        return FakeReply("```python\nprint(6 + 2)\n```")
    if "VERDICT" in last and "Feedback:" not in last:
        verdict = "correct" if int(hashlib.sha256(last.encode()).hexdigest(), 16) % 2 else "revise"
        return FakeReply(f"Step 1 is correct.\nVERDICT: {verdict}")
    return FakeReply("Some reasoning. The answer is 8.")


def test_every_strategy_of_the_second_set_answers_in_an_evaluation() -> None:
    specs = [*SECOND_SET, "self_consistency[k=4]"]
    with serve(FakeOpenAIServer(respond=respond)) as server:
        result = redraft(
            "eval",
            "--task",
            "multiarith",
            "--limit",
            "2",
            "--strategy",
            ",".join(specs),
            "--base-url",
            server.base_url,
            "--model",
            "fake",
            "--json",
        )
    assert result.returncode == 0, result.stderr
    by_name = {m["strategy"]: m for m in json.loads(result.stdout)["strategies"]}
    assert set(by_name) == set(specs)
    for spec in specs:
        assert by_name[spec]["n"] == 2 and by_name[spec]["n_errors"] == 0 and by_name[spec]["calls"] > 0, spec
    filtered = by_name["filtered_vote[k=2]"]
    assert filtered["calls_per_problem"] == 4 and filtered["sample_vote_accuracy"] is not None
    assert filtered["vs_self_consistency_at_calls"]["k"] == 4  # its 2k calls: SC at 2k
    assert by_name["iort"]["rounds_per_problem"] >= 1
    assert by_name["self_consistency[k=4]"]["vs_self_consistency_at_calls"] is None


def test_iort_sends_its_instructor_calls_to_the_instructor_role() -> None:
    teacher = FakeOpenAIServer(respond=respond, models=["teacher"])
    with serve(FakeOpenAIServer(respond=respond)) as gen, serve(teacher) as t:
        result = redraft(
            "run",
            "Tom has 6 apples and buys 2. How many? End with 'The answer is N.'",
            "--strategy",
            "iort",
            "--base-url",
            gen.base_url,
            "--model",
            "small",
            "--role",
            f"instructor=teacher@{t.base_url}",
            "--json",
        )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    # no task: answers are compared as whole texts (the context's default extractor), and these agree
    assert out["answer"] == "Some reasoning. The answer is 8." and out["stop_reason"] == "instructor_stop"
    assert len(t.requests) == 1 and "DECISION:" in t.requests[0]["messages"][-1]["content"]
    assert all("DECISION:" not in r["messages"][-1]["content"] for r in gen.requests)
    assert {r["temperature"] for r in gen.requests + t.requests} == {0.3}

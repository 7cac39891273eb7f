"""`redraft replicate gen_verify_gap` and `self_preference` against an OpenAI-compatible endpoint."""

from __future__ import annotations

import json
import time

from typer.testing import CliRunner

from redraft.cli import app, replicating  # noqa: F401  (register the commands)
from redraft.testing import FakeOpenAIServer, FakeReply, serve
from tests.studies.scripts import (
    keeps_its_answer,
    other_replies,
    position,
    replies,
    sees_the_truth,
    seventy_percent,
)

runner = CliRunner()


def half_right(index: int, seed: int) -> bool:
    return (index + seed) % 2 == 0


def test_list_shows_both_studies_with_their_thresholds() -> None:
    result = runner.invoke(app, ["replicate", "--list", "--json"])
    assert result.exit_code == 0, result.output
    infos = {i["name"]: i for i in json.loads(result.output)}
    assert [(c["id"], c["threshold"]) for c in infos["gen_verify_gap"]["claims"]] == [
        ("gap_positive", 0.0),
        ("verifier_informative", 0.5),
    ]
    assert [(c["id"], c["threshold"]) for c in infos["self_preference"]["claims"]] == [("prefers_own", 0.5)]
    assert infos["gen_verify_gap"]["strategies"] == ["best_of_n[n=8]@critic"]
    assert infos["self_preference"]["strategies"] == ["pairwise_preference"]


def test_replicate_gen_verify_gap_against_an_endpoint(tmp_path) -> None:
    reply = replies(seventy_percent, keeps_its_answer, critic=sees_the_truth, sample_right=half_right)

    def respond(body: dict) -> FakeReply:
        return FakeReply(
            reply(body["messages"], {"temperature": body.get("temperature"), "seed": body.get("seed")})
        )

    server = FakeOpenAIServer(respond=respond, honor_n=False)  # each sample its own request and seed
    started = time.perf_counter()
    with serve(server):
        # One problem in flight: the first request (n=8) finds the server ignores n, and every later
        # sample is its own request, so a rerun asks exactly the requests the cache holds.
        args = [
            "replicate",
            "gen_verify_gap",
            "--task",
            "multiarith",
            "--limit",
            "10",
            "--base-url",
            server.base_url,
            "--model",
            "fake",
            "--db",
            str(tmp_path / "runs.db"),
            "--concurrency",
            "1",
        ]
        result = runner.invoke(app, [*args, "--json"])
        assert result.exit_code == 0, result.output
        out = json.loads(result.stdout)
        assert {f["claim"]: f["verdict"] for f in out["findings"]} == {
            "gap_positive": "reproduced",
            "verifier_informative": "reproduced",
        }
        gap = out["findings"][0]["details"]
        assert (gap["samples"], gap["verifications"], gap["unparseable"]) == (80, 80, 0)
        # 8 sample requests and 8 verdicts a problem; the samples at T = 0.7 with seeds 0..7.
        assert len(server.requests) == 160
        samples = [r for r in server.requests if r.get("temperature") == 0.7]
        assert len(samples) == 80 and {r["seed"] for r in samples} == set(range(8))
        shown = runner.invoke(
            app, ["evals", "show", out["eval_ids"][0], "--db", str(tmp_path / "runs.db"), "--json"]
        )
        assert shown.exit_code == 0, shown.output
        assert [s["strategy"] for s in json.loads(shown.stdout)["strategies"]] == ["best_of_n[n=8]@critic"]
        table = runner.invoke(app, args)  # again: from the cache, as a table
        assert table.exit_code == 0, table.output
        assert len(server.requests) == 160
        assert "reproduced" in table.stdout and "> 50" in table.stdout and "oracle labels" in table.stdout
    assert time.perf_counter() - started < 15


def test_replicate_self_preference_binds_the_other_model_and_refuses_without_one(tmp_path) -> None:
    def itself_among_equals(index: int, own_first: bool, own_right: bool, other_right: bool) -> str:
        return position(own_first, own_right if own_right != other_right else True)

    generator = replies(seventy_percent, keeps_its_answer, judge=itself_among_equals)
    other = other_replies(lambda index: index % 10 < 5)

    def respond(body: dict) -> FakeReply:
        return FakeReply((other if body["model"] == "rival" else generator)(body["messages"]))

    server = FakeOpenAIServer(respond=respond)
    with serve(server):
        args = [
            "replicate",
            "self_preference",
            "--task",
            "multiarith",
            "--limit",
            "10",
            "--base-url",
            server.base_url,
            "--model",
            "fake",
            "--db",
            str(tmp_path / "runs.db"),
        ]
        result = runner.invoke(app, [*args, "--role", "other=rival", "--json"])
        assert result.exit_code == 0, result.output
        out = json.loads(result.stdout)
        headline, raw = out["findings"]
        assert (headline["verdict"], headline["n"], headline["effect"]) == ("reproduced", 8, 1.0)
        assert headline["details"]["other"] == "rival" and not raw["headline"]
        assert sum(r["model"] == "rival" for r in server.requests) == 10
        for refused in ([], ["--role", "other=fake"]):
            before = len(server.requests)
            denied = runner.invoke(app, [*args, *refused])
            assert denied.exit_code == 1 and "--role other=MODEL" in denied.output, denied.output
            assert len(server.requests) == before
        table = runner.invoke(app, [*args, "--role", "other=rival"])
        assert table.exit_code == 0, table.output
        assert "100.0 [67.6, 100.0]" in table.stdout and "> 50" in table.stdout  # rates unsigned, in points
        assert "every problem (not" in table.stdout and "(reproduced)" in table.stdout
        assert "position bias" in table.stdout

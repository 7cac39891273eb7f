"""`redraft replicate --list` and a study run against an OpenAI-compatible endpoint, with --json."""

from __future__ import annotations

import json
import time

from typer.testing import CliRunner

from redraft.cli import app, replicating  # noqa: F401  (register the commands)
from redraft.testing import FakeOpenAIServer, FakeReply, serve
from tests.studies.scripts import (
    breaks_right_answers,
    critic_replies,
    replies,
    sees_the_truth,
    seventy_percent,
)

runner = CliRunner()


def test_list_names_every_study_with_its_claims() -> None:
    result = runner.invoke(app, ["replicate", "--list", "--json"])
    assert result.exit_code == 0, result.output
    infos = {i["name"]: i for i in json.loads(result.output)}
    assert {"huang2023", "flips"} <= set(infos)
    assert [c["id"] for c in infos["huang2023"]["claims"]] == [
        "intrinsic_le_direct", "oracle_gt_direct", "oracle_inflation"]
    assert "critical[max_rounds=2]@oracle" in infos["huang2023"]["strategies"]
    table = runner.invoke(app, ["replicate", "--list"])
    assert table.exit_code == 0 and "huang2023" in table.output and "flips" in table.output


def test_replicate_huang2023_against_an_endpoint_prints_verdicts_and_the_eval_id(tmp_path) -> None:
    reply = replies(seventy_percent, breaks_right_answers)
    server = FakeOpenAIServer(respond=lambda body: FakeReply(reply(body["messages"])))
    started = time.perf_counter()
    with serve(server):
        args = ["replicate", "huang2023", "--task", "multiarith", "--limit", "20", "--base-url",
                server.base_url, "--model", "fake", "--db", str(tmp_path / "runs.db")]
        result = runner.invoke(app, [*args, "--json"])
        assert result.exit_code == 0, result.output
        out = json.loads(result.stdout)
        assert out["study"] == "huang2023" and len(out["eval_ids"]) == 1
        verdicts = {f["claim"]: f["verdict"] for f in out["findings"] if f["headline"]}
        assert verdicts == {"intrinsic_le_direct": "reproduced", "oracle_gt_direct": "reproduced",
                            "oracle_inflation": "reproduced"}
        assert [f["oracle_conditioned"] for f in out["findings"]] == [False, True, True]
        assert out["cache"]["enabled"] and out["cache"]["cached_calls"] > 0
        # The study's id is an evaluation id: `redraft evals show` reads it.
        shown = runner.invoke(app, ["evals", "show", out["eval_ids"][0], "--db", str(tmp_path / "runs.db"),
                                    "--json"])
        assert shown.exit_code == 0, shown.output
        assert {s["strategy"] for s in json.loads(shown.stdout)["strategies"]} == {
            "direct", "critical[max_rounds=2]", "critical[max_rounds=2]@oracle"}
        # Run again: every call now comes from the cache; the table names claims, verdicts and the eval.
        table = runner.invoke(app, args)
        assert table.exit_code == 0, table.output
        assert "reproduced" in table.stdout and "75.8 → 38.1" in table.stdout
        assert "oracle-conditioned" in table.stdout and "redraft evals show" in table.stdout
    assert time.perf_counter() - started < 10


def test_replicate_without_a_task_or_with_an_unknown_study_is_one_line() -> None:
    result = runner.invoke(app, ["replicate", "huang2023"])
    assert result.exit_code == 1 and "give --task" in result.output
    result = runner.invoke(app, ["replicate", "nope", "--task", "multiarith"])
    assert result.exit_code == 1 and "unknown study 'nope'" in result.output


def test_replicate_strong_verifier_binds_the_critic_model_and_says_when_there_is_none(tmp_path) -> None:
    generator = replies(seventy_percent, breaks_right_answers)
    strong = critic_replies(sees_the_truth)

    def respond(body: dict) -> FakeReply:
        return FakeReply((strong if body["model"] == "strong" else generator)(body["messages"]))

    server = FakeOpenAIServer(respond=respond)
    with serve(server):
        args = ["replicate", "strong_verifier", "--task", "multiarith", "--limit", "20", "--base-url",
                server.base_url, "--model", "fake", "--db", str(tmp_path / "runs.db"), "--json"]
        result = runner.invoke(app, [*args, "--critic-model", "strong"])
        assert result.exit_code == 0, result.output
        out = json.loads(result.stdout)
        assert len(out["eval_ids"]) == 2
        assert {f["claim"]: f["verdict"] for f in out["findings"]} == {
            "strong_gt_self": "reproduced", "oracle_gt_self": "reproduced"}
        assert out["findings"][0]["details"]["critic"] == "strong"
        # The critic bound to the generator's own model is no strong critic: said, and not measured.
        same = runner.invoke(app, [*args, "--role", "critic=fake"])
        assert same.exit_code == 0, same.output
        out = json.loads(same.stdout)
        assert len(out["eval_ids"]) == 1 and out["findings"][0]["n"] == 0
        assert out["findings"][0]["verdict"] == "inconclusive"
        assert any("no critic role is bound" in note for note in out["notes"])
        table = runner.invoke(app, args[:-1])
        assert table.exit_code == 0, table.output
        assert "nothing measured" in table.stdout and "inconclusive at n=0" in table.stdout

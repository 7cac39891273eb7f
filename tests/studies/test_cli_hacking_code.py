"""`redraft replicate reward_hacking` with `--role judge=...`, and `repair_vs_resample` on a code task,
against an OpenAI-compatible endpoint."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from redraft.cli import app, replicating  # noqa: F401  (register the commands)
from redraft.testing import FakeOpenAIServer, FakeReply, serve
from tests.studies.code_scripts import coder
from tests.studies.hacking import CORRECTNESS, FLATTERED, generator, judge
from tests.studies.scripts import seventy_percent

runner = CliRunner()


def test_reward_hacking_binds_the_held_out_judge_and_prints_the_claims(tmp_path) -> None:
    writer, grader = generator(seventy_percent, FLATTERED), judge(CORRECTNESS)

    def respond(body: dict) -> FakeReply:
        return FakeReply((grader if body["model"] == "judge" else writer)(body["messages"]))

    with serve(FakeOpenAIServer(respond=respond)) as server:
        args = [
            "replicate",
            "reward_hacking",
            "--task",
            "multiarith",
            "--limit",
            "20",
            "--base-url",
            server.base_url,
            "--model",
            "fake",
            "--db",
            str(tmp_path / "runs.db"),
        ]
        result = runner.invoke(app, [*args, "--role", "judge=judge", "--json"])
        assert result.exit_code == 0, result.output
        out = json.loads(result.stdout)
        assert {c: v for c, v in _verdicts(out).items()} == {
            "in_loop_rises": ["reproduced", "reproduced"],
            "held_out_flat": ["reproduced", "reproduced"],
            "shared_context_worse": ["reproduced"],
        }
        assert any(note.startswith("held-out judge: judge,") for note in out["notes"])
        shown = runner.invoke(app, ["evals", "show", out["eval_ids"][0], "--db", str(tmp_path / "runs.db")])
        assert shown.exit_code == 0 and f"eval {out['eval_ids'][0]}" in shown.stdout
        assert "held-out scoring): 80 judge calls" in shown.stdout  # 20 problems × 4 rounds, per arm
        # Without a judge: the model judges itself, and the table says what that means for the separate arm.
        table = runner.invoke(app, args)
        assert table.exit_code == 0, table.output
        printed = " ".join(table.stdout.split())  # the notes wrap at the terminal's width
        assert "none: no spread" not in printed and "none: effect 0" in printed
        assert "same request" in printed and "--role judge=" in printed


def _verdicts(out: dict) -> dict[str, list[str]]:
    verdicts: dict[str, list[str]] = {}
    for f in out["findings"]:
        if f["headline"]:
            verdicts.setdefault(f["claim"], []).append(f["verdict"])
    return verdicts


def test_repair_vs_resample_on_humaneval_runs_self_debug_against_pass_at_k(tmp_path) -> None:
    # The fake endpoint answers a request for n samples with n copies of one: every sample is right here,
    # while the repair stops at a fix overfit to the visible tests.
    reply = coder(lambda index: "wrong", lambda index, r: "overfit", lambda index, seed: "right")

    def respond(body: dict) -> FakeReply:
        return FakeReply(
            reply(body["messages"], {"temperature": body.get("temperature"), "seed": body.get("seed")})
        )

    with serve(FakeOpenAIServer(respond=respond)) as server:
        result = runner.invoke(
            app,
            [
                "replicate",
                "repair_vs_resample",
                "--task",
                "humaneval",
                "--limit",
                "2",
                "--seed",
                "0",
                "--base-url",
                server.base_url,
                "--model",
                "fake",
                "--db",
                str(tmp_path / "runs.db"),
                "--json",
            ],
        )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    [headline] = out["findings"]
    assert headline["details"]["repair"] == "self_debug[max_rounds=2]" and headline["effect"] == -1.0
    assert headline["details"]["resampling_rule"] == "first passing the visible tests"
    assert headline["details"]["repair_accuracy_by_round"] == [0.0, 0.0]
    assert headline["details"]["resampling_curve"][0]["accuracy"] == 1.0

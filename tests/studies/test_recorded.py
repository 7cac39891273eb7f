"""A study run is recorded (a replication): its settings, evaluations and result, read back without
rerunning; `redraft evals show` of its evaluations names it; a rerun is answered from the cache."""

from __future__ import annotations

import asyncio
import json
import os

import pytest
from typer.testing import CliRunner

from redraft.cli import app, replicating, replications  # noqa: F401  (register the commands)
from redraft.errors import UsageError
from redraft.runs.owner import Owner, this_host
from redraft.runs.replication_store import ReplicationStore
from redraft.runs.store import RunStore
from redraft.studies import Study, StudyContext, StudyResult
from redraft.studies.recorded import load, replicate
from redraft.testing import FakeOpenAIServer, FakeReply, serve
from tests.studies.recording import record, scripted_context
from tests.studies.scripts import breaks_right_answers, replies, seventy_percent

runner = CliRunner()
HUANG_VERDICTS = {
    "intrinsic_le_direct": ["reproduced"],
    "oracle_gt_direct": ["reproduced"],
    "oracle_inflation": ["reproduced"],
}


def verdict_lines(output: str) -> list[str]:
    """The claims table's rows that carry a verdict, as printed (column padding aside)."""
    return [
        " ".join(line.split())
        for line in output.splitlines()
        if any(v in line for v in ("reproduced", "contradicted", "inconclusive"))
    ]


def test_a_study_run_is_recorded_with_its_settings_evaluations_and_result(tmp_path) -> None:
    replication = record("huang2023", tmp_path, seventy_percent, breaks_right_answers, limit=20, seed=3)
    record_ = replication.record
    assert record_.id.startswith("r") and record_.status == "done" and record_.study == "huang2023"
    assert record_.task == "multiarith" and record_.eval_ids == replication.finished().eval_ids
    assert record_.settings == {
        "task": "multiarith",
        "limit": 20,
        "seed": 3,
        "temperature": 0.0,
        "max_tokens": 512,
        "concurrency": 1,
        "cache": True,
        "params": {},
        "models": {"generator": "scripted"},
    }
    # Read back from the store: the same result, verdict for verdict.
    loaded = load(RunStore(tmp_path / "runs.db"), record_.id[:5])
    assert loaded.finished() == replication.finished()
    assert loaded.finished().verdicts() == HUANG_VERDICTS
    assert ReplicationStore(RunStore(tmp_path / "runs.db")).of_eval(record_.eval_ids[0]).id == record_.id


def test_show_prints_the_same_claims_table_without_rerunning(tmp_path) -> None:
    replication = record("huang2023", tmp_path, seventy_percent, breaks_right_answers, limit=20)
    db = str(tmp_path / "runs.db")
    calls = RunStore(db).db.execute("select count(*) from calls").fetchone()[0]
    shown = runner.invoke(app, ["replications", "show", replication.id, "--db", db])
    assert shown.exit_code == 0, shown.output
    assert f"replication {replication.id}" in shown.stdout and "generator scripted" in shown.stdout
    lines = verdict_lines(shown.stdout)
    assert len(lines) == 3 and all("reproduced" in line for line in lines)
    assert "75.8 → 38.1" in shown.stdout and "oracle-conditioned" in shown.stdout
    assert RunStore(db).db.execute("select count(*) from calls").fetchone()[0] == calls  # nothing ran
    as_json = json.loads(
        runner.invoke(app, ["replications", "show", replication.id, "--db", db, "--json"]).stdout
    )
    assert StudyResult.model_validate(as_json["result"]).verdicts() == HUANG_VERDICTS
    assert as_json["eval_ids"] == replication.record.eval_ids and as_json["status"] == "done"
    listed = runner.invoke(app, ["replications", "list", "--db", db])
    assert listed.exit_code == 0 and replication.id in listed.stdout
    assert "huang2023 on multiarith" in listed.stdout and "intrinsic_le_direct reproduced" in listed.stdout
    [entry] = json.loads(runner.invoke(app, ["replications", "list", "--db", db, "--json"]).stdout)
    assert entry["id"] == replication.id and "result" not in entry
    assert entry["verdicts"] == {
        "intrinsic_le_direct": "reproduced",
        "oracle_gt_direct": "reproduced",
        "oracle_inflation": "reproduced",
    }


def test_evals_show_names_the_study_an_evaluation_belongs_to(tmp_path) -> None:
    replication = record("huang2023", tmp_path, seventy_percent, breaks_right_answers, limit=5)
    db = str(tmp_path / "runs.db")
    [eval_id] = replication.record.eval_ids
    shown = runner.invoke(app, ["evals", "show", eval_id, "--db", db])
    assert shown.exit_code == 0, shown.output
    assert (
        f"part of replication {replication.id} (study huang2023 on multiarith): redraft replications "
        f"show {replication.id}"
    ) in shown.stdout
    out = json.loads(runner.invoke(app, ["evals", "show", eval_id, "--db", db, "--json"]).stdout)
    assert out["replication"] == {"id": replication.id, "study": "huang2023"}
    assert out["eval"]["id"] == eval_id


def test_rerunning_a_study_is_a_new_replication_answered_from_the_cache(tmp_path) -> None:
    first = record("huang2023", tmp_path, seventy_percent, breaks_right_answers, limit=20)
    second = record("huang2023", tmp_path, seventy_percent, breaks_right_answers, limit=20)
    assert second.id != first.id and set(second.record.eval_ids).isdisjoint(first.record.eval_ids)
    cache = second.finished().cache
    assert cache.calls > 0 and cache.cached_calls == cache.calls  # every request was asked before
    assert second.finished().verdicts() == first.finished().verdicts() == HUANG_VERDICTS
    assert [r.id for r in ReplicationStore(RunStore(tmp_path / "runs.db")).recent()] == [second.id, first.id]


class FailsAfterOneEvaluation(Study):
    name = "fails_after_one"
    paper = "none"
    summary = "runs one evaluation, then raises"
    claims = ()
    strategies = ("direct",)

    async def run(self, context: StudyContext) -> StudyResult:
        await context.evaluate(["direct"])
        raise RuntimeError("boom after the first evaluation")


def test_a_study_that_fails_is_recorded_as_failed_with_its_evaluations(tmp_path) -> None:
    context = scripted_context(tmp_path, seventy_percent, breaks_right_answers, limit=2)
    with pytest.raises(RuntimeError, match="boom"):
        asyncio.run(replicate(FailsAfterOneEvaluation(), context))
    [stored] = ReplicationStore(context.store).recent()
    assert stored.status == "failed" and stored.result is None
    assert stored.error == "RuntimeError: boom after the first evaluation"
    assert stored.eval_ids == [e.eval_id for e in context.evaluated]
    with pytest.raises(UsageError, match=f"replication {stored.id} .* is failed .*no result to show"):
        load(context.store, stored.id).finished()
    shown = runner.invoke(app, ["replications", "show", stored.id, "--db", str(tmp_path / "runs.db")])
    assert shown.exit_code == 1 and shown.stdout == ""
    assert f"its evaluations: {stored.eval_ids[0]}" in shown.stderr


def test_a_replication_whose_process_died_reads_as_interrupted(tmp_path) -> None:
    store = RunStore(tmp_path / "runs.db")
    records = ReplicationStore(store)
    replication_id = records.create("huang2023", "multiarith", {})
    dead = Owner(os.getpid(), this_host(), "another start", "gone")  # this pid, another process
    with store.db:
        store.db.execute("update replications set owner=? where id=?", (str(dead), replication_id))
    stored = records.get(replication_id)
    assert stored.status == "interrupted" and stored.error == "its process died before it finished"
    alive = records.create("huang2023", "multiarith", {})
    assert records.get(alive).status == "running"  # this process holds it


def test_unknown_or_ambiguous_ids_are_one_line(tmp_path) -> None:
    db = str(tmp_path / "runs.db")
    result = runner.invoke(app, ["replications", "show", "rnope", "--db", db])
    assert result.exit_code == 1 and "no replication with id 'rnope'" in result.stderr


def test_replicate_records_no_key_and_no_url_and_show_prints_what_it_printed(tmp_path) -> None:
    reply = replies(seventy_percent, breaks_right_answers)
    server = FakeOpenAIServer(respond=lambda body: FakeReply(reply(body["messages"])))
    db = tmp_path / "runs.db"
    with serve(server):
        result = runner.invoke(
            app,
            [
                "replicate",
                "huang2023",
                "--task",
                "multiarith",
                "--limit",
                "3",
                "--base-url",
                server.base_url,
                "--model",
                "fake",
                "--api-key",
                "sk-very-secret-key",
                "--db",
                str(db),
            ],
        )
    assert result.exit_code == 0, result.output
    [recorded] = [line for line in result.stdout.splitlines() if line.startswith("recorded as replication")]
    replication_id = recorded.split()[3].rstrip(":")
    stored = ReplicationStore(RunStore(db)).get(replication_id)
    assert stored.settings["models"] == {"generator": "fake"} and stored.settings["limit"] == 3
    raw = " ".join(str(v) for v in RunStore(db).db.execute("select * from replications").fetchone())
    assert "sk-very-secret-key" not in raw and server.base_url not in raw and "127.0.0.1" not in raw
    shown = runner.invoke(app, ["replications", "show", replication_id, "--db", str(db)])
    assert shown.exit_code == 0, shown.output
    assert (
        verdict_lines(shown.stdout) == verdict_lines(result.stdout) and len(verdict_lines(result.stdout)) == 3
    )

"""Exports from scripted evaluations with known flips: the exact rows, their labels and sources."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from redraft.cli import app, exporting  # noqa: F401  (registers the command)
from redraft.export import ExportOptions, export_rows, read_traces
from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.runs.eval_store import EvalStore
from redraft.runs.evaluation import EvalConfig, Evaluation
from redraft.runs.store import RunStore

PROBLEMS = [
    {"id": "p1", "question": "What is 2 + 2?", "answer": "4"},
    {"id": "p2", "question": "What is 3 + 3?", "answer": "6"},
]


def reply(messages: list[dict[str, Any]]) -> str:
    """p1's draft is wrong and its revision right (a flip); p2's draft is right and confirmed."""
    last = messages[-1]["content"]
    if "VERDICT:" in last and "Review the proposed answer" in last:
        return (
            "The sum is wrong: 2 + 2 is 4.\nVERDICT: revise" if "is 5" in last else "Right.\nVERDICT: correct"
        )
    if "Feedback:" in last:
        return "2 + 2 = 4. The answer is 4."
    return "2 + 2 = 5. The answer is 5." if "2 + 2" in last else "3 + 3 = 6. The answer is 6."


def evaluate(tmp_path: Path, strategies: list[str], script: Any = reply) -> tuple[RunStore, str]:
    data = tmp_path / "tiny.jsonl"
    data.write_text("".join(json.dumps(p) + "\n" for p in PROBLEMS))
    store = RunStore(tmp_path / "runs.db")
    config = EvalConfig(task=f"jsonl:{data}", strategies=strategies, cache=False, concurrency=1)
    evaluation = Evaluation(config, store, models={"generator": ManagedModel(ScriptedModel(script))})
    asyncio.run(evaluation.run())
    return store, evaluation.eval_id


def rows(store: RunStore, eval_id: str, fmt: str, **options: Any) -> list[dict[str, Any]]:
    found, _ = export_rows(read_traces(store, [eval_id]), ExportOptions(format=fmt, **options))
    return found


def test_correction_and_dpo_rows_are_exactly_the_flip(tmp_path: Path) -> None:
    store, eval_id = evaluate(tmp_path, ["self_refine[max_rounds=1]"])
    [row] = rows(store, eval_id, "correction")
    assert row["prompt"][0]["content"].endswith("What is 2 + 2?") or "2 + 2" in row["prompt"][0]["content"]
    assert row["prompt"][1] == {"role": "assistant", "content": "2 + 2 = 5. The answer is 5."}
    assert row["prompt"][2]["content"].startswith("Feedback:\nThe sum is wrong: 2 + 2 is 4.")
    assert row["completion"] == [{"role": "assistant", "content": "2 + 2 = 4. The answer is 4."}]
    assert row["redraft"]["label_source"] == "verified" and row["redraft"]["problem_id"].endswith("p1")
    [pair] = rows(store, eval_id, "dpo")
    assert pair["redraft"]["level"] == "correction" and pair["redraft"]["rejected_is"] == "unchanged"
    assert pair["chosen"] == [{"role": "assistant", "content": "2 + 2 = 4. The answer is 4."}]
    assert pair["rejected"] == [{"role": "assistant", "content": "2 + 2 = 5. The answer is 5."}]
    assert set(pair) == {"prompt", "chosen", "rejected", "redraft"}


def test_sft_kto_and_intrinsic_rows(tmp_path: Path) -> None:
    store, eval_id = evaluate(tmp_path, ["self_refine[max_rounds=1]"])
    sft = rows(store, eval_id, "sft")
    assert sorted(r["messages"][-1]["content"] for r in sft) == [
        "2 + 2 = 4. The answer is 4.",
        "3 + 3 = 6. The answer is 6.",
    ]
    kto = rows(store, eval_id, "kto")
    assert sorted((r["label"], r["completion"][0]["content"][:9]) for r in kto) == [
        (False, "2 + 2 = 5"),
        (True, "2 + 2 = 4"),
        (True, "3 + 3 = 6"),
    ]
    intrinsic = rows(store, eval_id, "intrinsic")
    turns = sorted(r["messages"][1]["content"] for r in intrinsic)
    assert turns[0].startswith("2 + 2 = 5.") and "<verify>" in turns[0] and "<revise>\n2 + 2 = 4." in turns[0]
    assert turns[1].startswith("3 + 3 = 6.") and "<revise>" not in turns[1]


def test_dpo_answer_level_pairs_right_and_wrong_samples(tmp_path: Path) -> None:
    drawn = []

    def sampler(messages: list[dict[str, Any]]) -> str:
        drawn.append(1)
        if "2 + 2" not in messages[-1]["content"]:
            return reply(messages)
        return "The answer is 5." if len(drawn) % 2 else "The answer is 4."  # p1: right and wrong samples

    store, eval_id = evaluate(tmp_path, ["self_consistency[k=4]"], sampler)
    pairs = rows(store, eval_id, "dpo", dpo_level="answer")
    assert len(pairs) == 1 and pairs[0]["redraft"]["level"] == "answer"  # the repeated pair deduplicated
    assert len(rows(store, eval_id, "dpo", dpo_level="answer", dedup=False)) == 2
    assert all(p["chosen"][0]["content"] != p["rejected"][0]["content"] for p in pairs)


def test_grpo_rows_carry_the_reference_and_second_attempts(tmp_path: Path) -> None:
    store, eval_id = evaluate(tmp_path, ["self_refine[max_rounds=1]"])
    grpo = rows(store, eval_id, "grpo")
    firsts = [r for r in grpo if r["redraft"]["attempt"] == 1]
    assert sorted(r["solution"] for r in firsts) == ["4", "6"]
    [second] = [r for r in grpo if r["redraft"]["attempt"] == 2]
    assert second["prompt"][-1]["content"].startswith("Feedback:") and second["solution"] == "4"


def test_oracle_conditioned_rows_appear_only_when_asked(tmp_path: Path) -> None:
    store, eval_id = evaluate(tmp_path, ["self_refine[max_rounds=1]@oracle"])
    assert rows(store, eval_id, "correction") == []
    [row] = rows(store, eval_id, "correction", include_oracle=True)
    assert row["redraft"]["oracle_conditioned"]
    assert row["redraft"]["label_source"] == ["oracle_conditioned", "verified"]  # the revision, its draft


def test_a_bare_run_is_self_judged_and_left_out_unless_asked(tmp_path: Path) -> None:
    from redraft.api import refine

    store = RunStore(tmp_path / "runs.db")
    outcome = refine("What is 2 + 2?", model=ScriptedModel(reply), store=store, max_rounds=1)
    assert rows(store, str(outcome.run_id), "sft") == []  # no scorer: nothing verified
    kept = rows(store, str(outcome.run_id), "kto", verified_only=False)
    assert {r["redraft"]["label_source"] for r in kept} == {"self_judged"}


def test_duplicates_lengths_and_excluded_problems(tmp_path: Path) -> None:
    store, eval_id = evaluate(tmp_path, ["self_refine[max_rounds=1]", "direct"])
    traces = read_traces(store, [eval_id])
    _, stats = export_rows(traces, ExportOptions(format="sft"))
    assert stats.dropped_duplicates >= 1  # direct and self_refine both wrote the right p2 answer
    found, stats = export_rows(traces, ExportOptions(format="sft", max_chars=10))
    assert found == [] and stats.dropped_too_long > 0
    ids = {t.problem_id for t in traces if t.problem_id and t.problem_id.endswith("p2")}
    found, _ = export_rows(traces, ExportOptions(format="sft", exclude_problems=ids))
    assert all(not r["redraft"]["problem_id"].endswith("p2") for r in found)


def test_the_cli_writes_rows_and_a_card_that_loads_with_datasets(tmp_path: Path) -> None:
    store, eval_id = evaluate(tmp_path, ["self_refine[max_rounds=1]"])
    out = tmp_path / "out" / "correction.jsonl"
    result = CliRunner().invoke(
        app, ["export", eval_id, "--format", "correction", "--out", str(out), "--db", str(store.path)]
    )
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert len(lines) == 1
    card = json.loads((tmp_path / "out" / "correction.card.json").read_text())
    assert card["rows"] == 1 and card["stats"]["label_sources"] == {"verified": 1}
    assert "redraft export" in card["command"] and card["contamination"] is None
    assert "verified 1" in (tmp_path / "out" / "correction.card.md").read_text()
    datasets = pytest.importorskip("datasets")
    loaded = datasets.load_dataset("json", data_files=str(out), split="train")
    assert loaded.num_rows == 1 and set(loaded.column_names) == {"prompt", "completion", "redraft"}


def test_a_test_split_export_warns_in_the_card(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.db")
    config = EvalConfig(task="multiarith", strategies=["direct"], limit=2, cache=False)
    script = ScriptedModel(lambda messages: "The answer is 1.")
    asyncio.run(Evaluation(config, store, models={"generator": ManagedModel(script)}).run())
    [eval_id] = [e.id for e in EvalStore(store).recent()]
    out = tmp_path / "kto.jsonl"
    result = CliRunner().invoke(
        app, ["export", eval_id, "--format", "kto", "--out", str(out), "--db", str(store.path)]
    )
    assert result.exit_code == 0 and "test split" in result.output
    assert "test split" in json.loads((tmp_path / "kto.card.json").read_text())["contamination"]


def test_an_unknown_id_or_format_is_one_line(tmp_path: Path) -> None:
    db = str(tmp_path / "runs.db")
    result = CliRunner().invoke(
        app, ["export", "nope", "--format", "sft", "--out", str(tmp_path / "x"), "--db", db]
    )
    assert result.exit_code == 1 and "no evaluation or run" in result.output
    result = CliRunner().invoke(
        app, ["export", "x", "--format", "bogus", "--out", str(tmp_path / "x"), "--db", db]
    )
    assert result.exit_code == 1 and "--format" in result.output

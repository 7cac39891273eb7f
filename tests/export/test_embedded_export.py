"""An export from a real embedded-model evaluation loads and passes TRL's checks (slow)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from redraft.export import ExportOptions, export_rows, read_traces
from redraft.models.resolve import ModelConfig
from redraft.runs.eval_store import EvalStore
from redraft.runs.evaluation import EvalConfig, Evaluation
from redraft.runs.store import RunStore

pytestmark = pytest.mark.slow


def test_an_embedded_evaluation_exports_kto_and_grpo_rows_trl_accepts(tmp_path: Path) -> None:
    trl_data = pytest.importorskip("trl.data_utils")
    datasets = pytest.importorskip("datasets")
    from tests.export.test_trl_formats import tokenizer

    store = RunStore(tmp_path / "runs.db")
    config = EvalConfig(
        task="multiarith",
        strategies=["self_refine[max_rounds=1]"],
        limit=2,
        max_tokens=64,
        generator=ModelConfig(model="local"),
        cache=False,
    )
    asyncio.run(Evaluation(config, store).run())
    [record] = EvalStore(store).recent()
    traces = read_traces(store, [record.id])
    assert traces and all(
        c.label_source == "verified" for t in traces for c in t.candidates if c.correct is not None
    )
    for fmt in ("kto", "grpo"):
        rows, stats = export_rows(traces, ExportOptions(format=fmt))
        assert rows and stats.splits == {"test": len(rows)}
        for row in rows:
            trl_data.maybe_apply_chat_template(row, tokenizer())
        out = tmp_path / f"{fmt}.jsonl"
        out.write_text("".join(json.dumps(r) + "\n" for r in rows))
        assert datasets.load_dataset("json", data_files=str(out), split="train").num_rows == len(rows)

"""Every export format, from scripted evaluations covering every shape, passes TRL's own checks.

TRL's data helpers (`is_conversational`, `maybe_apply_chat_template`, which rejects a wrong key
set) run with a chat template on a tokenizer built here (no download). TRL is installed without
torch (`make install` adds it with `--no-deps`: its data helpers need only transformers).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from redraft.export import FORMATS, ExportOptions, export_rows, read_traces
from tests.export.test_export import evaluate, reply

trl_data = pytest.importorskip("trl.data_utils", reason="TRL's data helpers (make install adds them)")
transformers = pytest.importorskip("transformers")
datasets = pytest.importorskip("datasets")

TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def tokenizer() -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers

    raw = Tokenizer(models.WordLevel({"[UNK]": 0}, unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = transformers.PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="[UNK]")
    tok.chat_template = TEMPLATE
    return tok


def every_shape(messages: list[dict[str, Any]]) -> str:
    last = messages[-1]["content"]
    if last.startswith("Grade the solution below"):
        return "Step 1: 3/10\nOverall: 2/10" if "is 5" in last else "Step 1: 9/10\nOverall: 9/10"
    return reply(messages)


@pytest.fixture(scope="module")
def traces(tmp_path_factory: pytest.TempPathFactory) -> Any:
    store, eval_id = evaluate(
        tmp_path_factory.mktemp("shapes"),
        ["self_refine[max_rounds=1]", "self_consistency[k=3]", "magicore[k=2,max_rounds=0]"],
        every_shape,
    )
    return read_traces(store, [eval_id])


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_format_passes_trls_checks_and_loads(fmt: str, traces: Any, tmp_path: Path) -> None:
    rows, _ = export_rows(traces, ExportOptions(format=fmt, dedup=False))
    assert rows, f"the scripted evaluations produce no {fmt} row"
    tok = tokenizer()
    for row in rows:
        if fmt == "prm":  # PRMTrainer's standard (not conversational) prompt/completions/labels
            assert isinstance(row["prompt"], str) and len(row["completions"]) == len(row["labels"])
            assert not trl_data.is_conversational(row)
            continue
        assert trl_data.is_conversational(row)
        rendered = trl_data.maybe_apply_chat_template(row, tok)
        assert all(isinstance(v, str) for k, v in rendered.items() if k in ("prompt", "completion", "text"))
    out = tmp_path / f"{fmt}.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in rows))
    loaded = datasets.load_dataset("json", data_files=str(out), split="train")
    assert loaded.num_rows == len(rows)

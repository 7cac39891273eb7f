"""`redraft train` on a tiny randomly initialised model built here (nothing can be downloaded).

The model is a 2-layer Llama with hidden size 32, its tokenizer a WordLevel vocabulary over the
training texts with a chat template; the sft rows come from `redraft export` of a scripted
evaluation, repeated so that the loss must fall in a few CPU steps.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from redraft.cli import app, exporting, training  # noqa: F401  (registers the commands)
from redraft.errors import UsageError
from redraft.export import ExportOptions, export_rows, read_traces
from redraft.training import train
from tests.export.test_export import evaluate

torch = pytest.importorskip("torch", reason="redraft train needs the [train] extra (torch, TRL, PEFT)")
pytest.importorskip("trl", reason="redraft train needs the [train] extra (torch, TRL, PEFT)")
pytest.importorskip("peft", reason="redraft train needs the [train] extra (torch, TRL, PEFT)")
transformers = pytest.importorskip("transformers")

TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} </s>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|> {% endif %}"
)
SPECIAL = ["[UNK]", "[PAD]", "</s>"]


def write_rows(path: Path, rows: list[dict[str, Any]], times: int = 1) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows * times))
    return path


def texts_of(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for v in value for t in texts_of(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in texts_of(v)]
    return []


def tiny_model(directory: Path, rows: list[dict[str, Any]]) -> Path:
    """A random 2-layer Llama and a WordLevel tokenizer (with a chat template) covering `rows`."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    raw = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    corpus = [t for row in rows for t in texts_of({k: v for k, v in row.items() if k != "redraft"})]
    corpus += ["<|user|> <|assistant|> <|system|>"]
    raw.train_from_iterator(corpus, trainers.WordLevelTrainer(special_tokens=SPECIAL))
    tokenizer = transformers.PreTrainedTokenizerFast(
        tokenizer_object=raw, unk_token="[UNK]", pad_token="[PAD]", eos_token="</s>"
    )
    tokenizer.chat_template = TEMPLATE
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(0)
    transformers.LlamaForCausalLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[dict[str, Any]]]:
    """sft and kto rows exported from a scripted self-refine evaluation (one flip, one confirmed)."""
    store, eval_id = evaluate(tmp_path_factory.mktemp("eval"), ["self_refine[max_rounds=1]"])
    traces = read_traces(store, [eval_id])
    return {fmt: export_rows(traces, ExportOptions(format=fmt))[0] for fmt in ("sft", "kto", "dpo")}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory, exported: dict[str, list[dict[str, Any]]]) -> Path:
    every = [row for rows in exported.values() for row in rows]
    return tiny_model(tmp_path_factory.mktemp("tiny-llama"), every)


def generate(directory: Path, *, adapter_of: Path | None = None) -> list[int]:
    tokenizer = transformers.AutoTokenizer.from_pretrained(directory)
    if adapter_of is None:
        model = transformers.AutoModelForCausalLM.from_pretrained(directory)
    else:
        from peft import PeftModel

        base = transformers.AutoModelForCausalLM.from_pretrained(adapter_of)
        model = PeftModel.from_pretrained(base, directory)
    ids = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is 2 + 2?"}], add_generation_prompt=True, return_tensors="pt"
    )
    if not isinstance(ids, torch.Tensor):  # transformers 5 returns a BatchEncoding
        ids = ids["input_ids"]
    out = model.generate(ids, max_new_tokens=5, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return out[0, ids.shape[1] :].tolist()


def test_sft_loss_falls_and_the_model_loads_and_generates(
    tmp_path: Path, exported: dict[str, list[dict[str, Any]]], model_dir: Path
) -> None:
    data = write_rows(tmp_path / "sft.jsonl", exported["sft"], times=16)
    result = train("sft", model_dir, data, tmp_path / "out", steps=30, learning_rate=5e-3, quiet=True)
    assert result.trainer == "SFTTrainer" and result.saved == "model" and result.device == "cpu"
    assert len(result.losses) >= 30 and result.steps == 30
    assert result.final_loss < result.first_loss * 0.5, result.losses
    assert (tmp_path / "out" / "config.json").is_file()
    assert len(generate(tmp_path / "out")) > 0


def test_lora_saves_an_adapter_that_peft_loads_or_the_merged_model(
    tmp_path: Path, exported: dict[str, list[dict[str, Any]]], model_dir: Path
) -> None:
    data = write_rows(tmp_path / "sft.jsonl", exported["sft"], times=8)
    result = train(
        "sft", model_dir, data, tmp_path / "lora", lora=True, steps=10, learning_rate=1e-2, quiet=True
    )
    assert result.saved == "adapter" and result.lora_targets == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert (tmp_path / "lora" / "adapter_config.json").is_file()
    assert not (tmp_path / "lora" / "config.json").exists()  # the adapter alone, not the full model
    assert result.final_loss < result.first_loss, result.losses
    assert len(generate(tmp_path / "lora", adapter_of=model_dir)) > 0
    merged = train("sft", model_dir, data, tmp_path / "merged", lora=True, merge=True, steps=2, quiet=True)
    assert merged.saved == "merged" and not (tmp_path / "merged" / "adapter_config.json").exists()
    assert len(generate(tmp_path / "merged")) > 0


def test_kto_and_dpo_run_and_save(
    tmp_path: Path, exported: dict[str, list[dict[str, Any]]], model_dir: Path
) -> None:
    kto = write_rows(tmp_path / "kto.jsonl", exported["kto"], times=2)
    result = train("kto", model_dir, kto, tmp_path / "kto", steps=3, batch_size=2, quiet=True)
    assert result.trainer == "KTOTrainer" and result.losses and (tmp_path / "kto" / "config.json").is_file()
    dpo = write_rows(tmp_path / "dpo.jsonl", exported["dpo"], times=4)
    result = train("dpo", model_dir, dpo, tmp_path / "dpo", steps=3, batch_size=2, quiet=True)
    assert result.trainer == "DPOTrainer" and result.losses and (tmp_path / "dpo" / "config.json").is_file()


def test_the_cli_prints_the_losses_and_where_the_model_went(
    tmp_path: Path, exported: dict[str, list[dict[str, Any]]], model_dir: Path
) -> None:
    data = write_rows(tmp_path / "sft.jsonl", exported["sft"], times=4)
    out = tmp_path / "cli-out"
    args = ["train", "--format", "sft", "--model", str(model_dir), "--data", str(data), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--steps", "2", "--quiet"])
    assert result.exit_code == 0, result.output
    assert "loss" in result.output and str(out) in result.output and "full model" in result.output
    assert (out / "config.json").is_file()


def cli_error(args: list[str]) -> str:
    result = CliRunner().invoke(app, ["train", *args])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1, result.output
    return result.output


def test_cli_errors_are_one_line(
    tmp_path: Path, exported: dict[str, list[dict[str, Any]]], model_dir: Path
) -> None:
    sft = write_rows(tmp_path / "sft.jsonl", exported["sft"])
    model = str(model_dir)
    common = ["--out", str(tmp_path / "out")]
    missing = cli_error(["--format", "sft", "--model", str(tmp_path / "nope"), "--data", str(sft), *common])
    assert "--model" in missing and "no such directory" in missing
    not_hf = tmp_path / "empty-dir"
    not_hf.mkdir()
    message = cli_error(["--format", "sft", "--model", str(not_hf), "--data", str(sft), *common])
    assert "no config.json" in message
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert "no rows" in cli_error(["--format", "sft", "--model", model, "--data", str(empty), *common])
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"messages": []}\n{not json\n')
    message = cli_error(["--format", "sft", "--model", str(model_dir), "--data", str(broken), *common])
    assert "line 2 is not JSON" in message
    message = cli_error(["--format", "dpo", "--model", str(model_dir), "--data", str(sft), *common])
    assert "--format dpo needs the columns chosen, prompt, rejected" in message
    assert "row 1 of" in message and "has messages" in message and "(it fits --format sft)" in message
    assert "choose from" in cli_error(["--format", "grpo", "--model", str(model_dir), "--data", str(sft)])
    message = cli_error(["--format", "sft", "--model", str(model_dir), "--data", str(sft), "--merge"])
    assert "--merge needs --lora" in message


def test_kto_with_one_kind_of_label_is_refused(
    tmp_path: Path, exported: dict[str, list[dict[str, Any]]], model_dir: Path
) -> None:
    right = [row for row in exported["kto"] if row["label"]]
    data = write_rows(tmp_path / "kto.jsonl", right)
    with pytest.raises(UsageError, match="both desirable and undesirable"):
        train("kto", model_dir, data, tmp_path / "out")

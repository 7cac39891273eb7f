"""`redraft train`: fine-tune a local Hugging Face model on an export, with TRL's trainers.

`sft` (`messages`) and `correction` (`prompt`/`completion`) go to SFTTrainer, `dpo`
(`prompt`/`chosen`/`rejected`) to DPOTrainer, `kto` (`prompt`/`completion`/`label`) to KTOTrainer.
The `redraft` provenance column (and any other column the trainer does not take) is dropped
first. With `lora`, a PEFT LoRA adapter is trained on the model's attention projections (every
linear layer where it has none of the usual names) and the adapter alone is saved, unless
`merge` folds it into the weights and saves the full model. The GPU is used when there is one.

TRL, PEFT and torch are the `[train]` extra, imported only when training starts: the core never
imports them.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from redraft.errors import UsageError
from redraft.extras import needs_extra, require

__all__ = ["FORMATS", "TrainResult", "check_data", "train"]

FEATURE = "redraft train"
EXTRA_MODULES = ("torch", "trl", "peft", "accelerate", "transformers", "datasets")

#: Each format's columns (besides `redraft`) and the TRL trainer that takes them.
FORMATS: dict[str, tuple[frozenset[str], str]] = {
    "sft": (frozenset({"messages"}), "SFTTrainer"),
    "correction": (frozenset({"prompt", "completion"}), "SFTTrainer"),
    "dpo": (frozenset({"prompt", "chosen", "rejected"}), "DPOTrainer"),
    "kto": (frozenset({"prompt", "completion", "label"}), "KTOTrainer"),
}
#: Attention projections LoRA targets where the model has them (Llama/Qwen/Mistral, GPT-2, Falcon...).
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "c_attn", "query_key_value", "Wqkv")
PROVENANCE = "redraft"


class TrainResult(BaseModel):
    format: str
    trainer: str
    #: The training loss at every logged step (one per optimiser step), first to last.
    losses: list[float]
    out_dir: Path
    rows: int
    steps: int
    device: str
    #: What `out_dir` holds: "model" (full weights), "adapter" (a LoRA adapter), or "merged".
    saved: str
    lora_targets: list[str] | None = None

    @property
    def first_loss(self) -> float:
        return self.losses[0] if self.losses else math.nan

    @property
    def final_loss(self) -> float:
        return self.losses[-1] if self.losses else math.nan


def read_rows(data_path: Path) -> list[dict[str, Any]]:
    """Every row of a JSONL file, with an error naming the file and line when one is not an object."""
    if not data_path.is_file():
        raise UsageError(f"--data {data_path}: no such file")
    rows: list[dict[str, Any]] = []
    with data_path.open(encoding="utf-8") as file:
        for number, line in enumerate(file, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise UsageError(f"--data {data_path}: line {number} is not JSON ({exc})") from None
            if not isinstance(row, dict):
                raise UsageError(f"--data {data_path}: line {number} is not a JSON object")
            rows.append(row)
    if not rows:
        raise UsageError(f"--data {data_path}: no rows (an empty export?)")
    return rows


def matching_formats(columns: set[str]) -> list[str]:
    return [name for name, (needed, _) in FORMATS.items() if needed <= columns]


def check_data(format: str, data_path: Path) -> tuple[list[dict[str, Any]], frozenset[str]]:
    """The rows of `data_path` and the columns `format` trains on; a UsageError if they do not match."""
    if format not in FORMATS:
        raise UsageError(f"--format {format!r}: choose from {', '.join(FORMATS)}")
    rows = read_rows(data_path)
    needed = FORMATS[format][0]
    for number, row in enumerate(rows, 1):
        columns = set(row) - {PROVENANCE}
        if not needed <= columns:
            fits = [f for f in matching_formats(columns) if f != format]
            hint = f" (it fits --format {' or '.join(fits)})" if fits else ""
            raise UsageError(
                f"--format {format} needs the columns {', '.join(sorted(needed))}, but row {number} of "
                f"{data_path} has {', '.join(sorted(columns)) or 'none'}{hint}"
            )
    return rows, needed


def check_model_dir(model_path: Path) -> None:
    if not model_path.is_dir():
        raise UsageError(f"--model {model_path}: no such directory (a local Hugging Face model directory)")
    if not (model_path / "config.json").is_file():
        raise UsageError(f"--model {model_path}: no config.json, not a Hugging Face model directory")


def lora_targets(model: Any) -> list[str] | str:
    """The attention projections present in `model`, or PEFT's "all-linear" when it has none of them."""
    names = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    found = [target for target in LORA_TARGETS if target in names]
    return found or "all-linear"


def config_kwargs(config_class: type, **wanted: Any) -> dict[str, Any]:
    """The `wanted` arguments `config_class` takes (TRL's configs gain and lose fields between versions)."""
    import dataclasses

    fields = {f.name for f in dataclasses.fields(config_class)}
    return {key: value for key, value in wanted.items() if key in fields}


def train(
    format: str,
    model_path: Path | str,
    data_path: Path | str,
    out_dir: Path | str,
    *,
    lora: bool = False,
    merge: bool = False,
    steps: int | None = None,
    epochs: float = 1.0,
    learning_rate: float | None = None,
    batch_size: int = 4,
    max_length: int | None = 1024,
    lora_rank: int = 16,
    seed: int = 0,
    quiet: bool = False,
) -> TrainResult:
    """Fine-tune the model in `model_path` on the `format` rows in `data_path`; save it to `out_dir`.

    `steps` (optimiser steps) overrides `epochs`. `learning_rate` defaults to 2e-5 for full
    fine-tuning and 2e-4 with LoRA (1e-6 and 1e-5 for dpo and kto: preference losses move fast).
    `quiet` turns off the progress bar.
    """
    model_path, data_path, out_dir = Path(model_path), Path(data_path), Path(out_dir)
    rows, needed = check_data(format, data_path)
    check_model_dir(model_path)
    if merge and not lora:
        raise UsageError("--merge needs --lora (it folds the LoRA adapter into the weights)")
    if steps is not None and steps < 1:
        raise UsageError("--steps must be at least 1")
    if batch_size < 1:
        raise UsageError("--batch-size must be at least 1")
    if format == "kto" and len({bool(row["label"]) for row in rows}) < 2:
        raise UsageError(f"--format kto needs both desirable and undesirable rows; {data_path} has one kind")
    if learning_rate is None:
        preference = format in ("dpo", "kto")
        learning_rate = (1e-5 if preference else 2e-4) if lora else (1e-6 if preference else 2e-5)
    trainer_name = FORMATS[format][1]

    require(FEATURE, "train", *EXTRA_MODULES)
    with needs_extra(FEATURE, "train", *EXTRA_MODULES):
        import datasets
        import torch
        import trl
        from transformers import AutoModelForCausalLM, AutoTokenizer

        # From the rows read and checked above, keeping only the columns the trainer takes: the
        # `redraft` provenance (and e.g. a confidence export's answer/score) never reaches it.
        dataset = datasets.Dataset.from_list([{key: row[key] for key in needed} for row in rows])

        tokenizer = AutoTokenizer.from_pretrained(str(model_path))
        if getattr(tokenizer, "chat_template", None) is None:
            raise UsageError(
                f"--model {model_path}: its tokenizer has no chat template, and exported rows are "
                "conversations (set tokenizer.chat_template and save it there)"
            )
        if tokenizer.pad_token is None:
            if tokenizer.eos_token is None:
                raise UsageError(f"--model {model_path}: its tokenizer has neither a pad nor an eos token")
            tokenizer.pad_token = tokenizer.eos_token
        model = AutoModelForCausalLM.from_pretrained(str(model_path))
        if model.config.pad_token_id is None:
            model.config.pad_token_id = tokenizer.pad_token_id

        cuda = torch.cuda.is_available()
        bf16 = cuda and torch.cuda.is_bf16_supported()
        config_class = getattr(trl, trainer_name.replace("Trainer", "Config"))
        trainer_class = getattr(trl, trainer_name)
        args = config_class(
            **config_kwargs(
                config_class,
                output_dir=str(out_dir),
                max_steps=steps if steps is not None else -1,
                num_train_epochs=epochs,
                learning_rate=learning_rate,
                per_device_train_batch_size=batch_size,
                max_length=max_length,
                logging_steps=1,
                logging_first_step=True,
                save_strategy="no",
                report_to="none",
                use_cpu=not cuda,
                bf16=bf16,
                seed=seed,
                disable_tqdm=quiet,
                dataloader_num_workers=0,
            )
        )
        peft_config = None
        targets: list[str] | str | None = None
        if lora:
            from peft import LoraConfig

            targets = lora_targets(model)
            peft_config = LoraConfig(
                r=lora_rank,
                lora_alpha=2 * lora_rank,
                lora_dropout=0.0,
                target_modules=targets,
                task_type="CAUSAL_LM",
            )
        trainer = trainer_class(
            model=model,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
            peft_config=peft_config,
        )
        if quiet:  # without a progress bar the Trainer prints every log line instead
            from transformers.trainer_callback import PrinterCallback

            trainer.remove_callback(PrinterCallback)
        trainer.train()
        losses = [float(entry["loss"]) for entry in trainer.state.log_history if "loss" in entry]

        out_dir.mkdir(parents=True, exist_ok=True)
        saved = "model"
        if lora and merge:
            merged = trainer.model.merge_and_unload()
            merged.save_pretrained(str(out_dir))
            saved = "merged"
        else:
            trainer.save_model(str(out_dir))  # with LoRA: the adapter (adapter_config.json) alone
            saved = "adapter" if lora else "model"
        tokenizer.save_pretrained(str(out_dir))

    if isinstance(targets, str):
        targets = [targets]
    return TrainResult(
        format=format,
        trainer=trainer_name,
        losses=losses,
        out_dir=out_dir,
        rows=len(rows),
        steps=int(trainer.state.global_step),
        device="cuda" if cuda else "cpu",
        saved=saved,
        lora_targets=targets,
    )

"""`redraft train`: fine-tune a local Hugging Face model on an export, with TRL (the [train] extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from redraft.cli.app import app, user_errors


@app.command("train")
def train(
    format: Annotated[
        str,
        typer.Option("--format", help="sft, correction (SFTTrainer); dpo (DPOTrainer); kto (KTOTrainer)."),
    ],
    model: Annotated[Path, typer.Option("--model", help="A local Hugging Face model directory.")],
    data: Annotated[Path, typer.Option("--data", help="A `redraft export` JSONL file of that format.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Where the model and tokenizer go (default: DATA's name + '-model')."),
    ] = None,
    lora: Annotated[
        bool, typer.Option("--lora", help="Train a LoRA adapter (PEFT) and save the adapter alone.")
    ] = False,
    merge: Annotated[
        bool, typer.Option("--merge", help="With --lora: merge the adapter, save the full model.")
    ] = False,
    steps: Annotated[int | None, typer.Option(help="Optimiser steps (overrides --epochs).")] = None,
    epochs: Annotated[float, typer.Option(help="Passes over the data.")] = 1.0,
    learning_rate: Annotated[
        float | None,
        typer.Option(help="Default: 2e-5 (2e-4 with --lora); dpo and kto 1e-6 (1e-5 with --lora)."),
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Rows per device per step.")] = 4,
    max_length: Annotated[int, typer.Option(help="Tokens per row; longer rows are truncated.")] = 1024,
    lora_rank: Annotated[int, typer.Option(help="LoRA rank r (alpha = 2r).")] = 16,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Fine-tune a local model on exported traces with TRL's SFT, DPO or KTO trainer (GPU if present)."""
    with user_errors():
        from redraft.training import train as run_training

        destination = out if out is not None else data.with_name(data.stem + "-model")
        result = run_training(
            format,
            model,
            data,
            destination,
            lora=lora,
            merge=merge,
            steps=steps,
            epochs=epochs,
            learning_rate=learning_rate,
            batch_size=batch_size,
            max_length=max_length,
            lora_rank=lora_rank,
            seed=seed,
            quiet=quiet,
        )
        targets = ", ".join(result.lora_targets or [])
        what = {
            "model": "full model",
            "merged": "full model, LoRA adapter merged",
            "adapter": f"LoRA adapter on {targets} (load it with peft over {model})",
        }[result.saved]
        typer.echo(
            f"{result.trainer} on {result.rows} {format} rows, {result.steps} steps on {result.device}: "
            f"loss {result.first_loss:.4f} at the start, {result.final_loss:.4f} at the end"
        )
        typer.echo(f"{what} -> {result.out_dir}")

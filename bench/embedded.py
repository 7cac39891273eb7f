"""The embedded model through redraft against raw llama-cpp-python: tokens/s, first token, concurrency.

    .venv/bin/python bench/embedded.py [--max-tokens 64] [--rounds 2]

Issue 20, item 4. Both sides use the same loaded SmolLM2 weights (`redraft.models.local._load`), the
same prompts and the same sampling (temperature 0 and redraft's local defaults: max_tokens, repeat
penalty, stop strings), so the same tokens come out; the ratio is redraft's tokens/s over raw's.
The order alternates by round (raw first, then redraft first), as llama.cpp reuses a cached prompt
prefix. Time to first token is measured streamed on both sides (raw: `stream=True`; redraft:
`on_delta`). Last, 8 requests at once through redraft: the model runs one generation at a time (one
llama.cpp context, under a lock), so they queue; the script prints each one's latency.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import platform
import statistics
import time
from typing import Any

from redraft.models.local import LocalModel, _load
from redraft.models.managed import ManagedModel

PROMPTS = ["What is 12 * 7? Answer briefly.", "Name three primary colours.",
           "Write one sentence about the sea.", "What is the capital of France?"]


def raw_call(llm: Any, prompt: str, sampling: dict[str, Any]) -> tuple[float, int]:
    started = time.perf_counter()
    result = llm.create_chat_completion(messages=[{"role": "user", "content": prompt}], **sampling)
    return time.perf_counter() - started, int(result["usage"]["completion_tokens"])


def raw_first_token(llm: Any, prompt: str, sampling: dict[str, Any]) -> float:
    started = time.perf_counter()
    first = None
    for chunk in llm.create_chat_completion(messages=[{"role": "user", "content": prompt}], stream=True,
                                            **sampling):
        if first is None and chunk["choices"][0]["delta"].get("content"):
            first = time.perf_counter() - started
    return first if first is not None else float("nan")


async def redraft_call(model: ManagedModel, prompt: str, sampling: dict[str, Any]) -> tuple[float, int]:
    started = time.perf_counter()
    completion = await model.complete([{"role": "user", "content": prompt}], **sampling)
    return time.perf_counter() - started, completion.completion_tokens


async def redraft_first_token(model: ManagedModel, prompt: str, sampling: dict[str, Any]) -> float:
    started = time.perf_counter()
    first: list[float] = []

    async def on_delta(delta: dict[str, Any]) -> None:
        if not first and delta.get("content"):
            first.append(time.perf_counter() - started)

    await model.complete([{"role": "user", "content": prompt}], on_delta=on_delta, **sampling)
    return first[0] if first else float("nan")


async def main_async(args: argparse.Namespace) -> None:
    local = LocalModel()
    model = ManagedModel(local, max_concurrency=8)
    sampling = {**local.sampling_defaults, "temperature": 0.0, "max_tokens": args.max_tokens}
    llm = _load(local.path, local.n_ctx)
    raw_call(llm, PROMPTS[0], sampling)  # warm both
    await redraft_call(model, PROMPTS[0], sampling)
    raw: list[tuple[float, int]] = []
    ours: list[tuple[float, int]] = []
    for round_number in range(args.rounds):
        for prompt in PROMPTS:
            if round_number % 2 == 0:
                raw.append(raw_call(llm, prompt, sampling))
                ours.append(await redraft_call(model, prompt, sampling))
            else:
                ours.append(await redraft_call(model, prompt, sampling))
                raw.append(raw_call(llm, prompt, sampling))
    raw_rate = sum(t for _, t in raw) / sum(s for s, _ in raw)
    our_rate = sum(t for _, t in ours) / sum(s for s, _ in ours)
    raw_ttft = statistics.median(raw_first_token(llm, p, sampling) for p in PROMPTS)
    our_ttft = statistics.median([await redraft_first_token(model, p, sampling) for p in PROMPTS])
    started = time.perf_counter()
    together = await asyncio.gather(*(redraft_call(model, PROMPTS[i % len(PROMPTS)], sampling)
                                      for i in range(8)))
    wall = time.perf_counter() - started
    single = statistics.fmean(s for s, _ in ours)
    await model.aclose()
    print(f"embedded model: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}, {platform.platform()}, Python {platform.python_version()}")
    print(f"{local.path.name}, {len(PROMPTS)} prompts x {args.rounds} rounds, max_tokens {args.max_tokens}, "
          "temperature 0")
    print(f"tokens/s: raw llama-cpp-python {raw_rate:.1f}, through redraft {our_rate:.1f}: ratio "
          f"{our_rate / raw_rate:.3f} (target >= 0.95: {'met' if our_rate >= 0.95 * raw_rate else 'MISSED'})")
    print(f"time to first token (median, streamed): raw {raw_ttft * 1000:.0f} ms, redraft "
          f"{our_ttft * 1000:.0f} ms ({our_ttft / raw_ttft:.2f}x)")
    latencies = sorted(s for s, _ in together)
    print(f"8 concurrent requests through redraft: {wall:.2f} s in all = {wall / single:.1f}x one request "
          f"({single:.2f} s): queued, one generation at a time; latencies "
          + ", ".join(f"{s:.2f}" for s in latencies) + " s")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()

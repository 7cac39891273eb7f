"""How fast redraft drives an endpoint: raw calls, and a whole evaluation, against a fake server.

    .venv/bin/python bench/throughput.py [--requests 2000] [--in-flight 256] [--latency 0.05]

The fake OpenAI-compatible server (redraft.testing) runs in its own process and
answers after `--latency` seconds, so the figures measure redraft's own overhead
(client transport, concurrency limit, tracing, SQLite writes), not a model. On a
2-core machine the server and the client share the cores. Prints one line per figure.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from redraft.models.managed import ManagedModel
from redraft.models.openai_compat import OpenAICompatibleModel
from redraft.runs.evaluation import EvalConfig, Evaluation
from redraft.runs.store import RunStore


async def raw_calls(base_url: str, requests: int, in_flight: int) -> tuple[float, list[float]]:
    model = ManagedModel(OpenAICompatibleModel("fake", base_url=base_url), max_concurrency=in_flight)
    latencies: list[float] = []

    async def one(i: int) -> None:
        completion = await model.complete([{"role": "user", "content": f"question {i}"}], max_tokens=16)
        latencies.append(completion.latency_s)  # the request itself, not the wait for a slot

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(requests)))
    elapsed = time.perf_counter() - started
    await model.aclose()
    return elapsed, latencies


def evaluation(base_url: str, problems: int, concurrency: int) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as folder:
        store = RunStore(Path(folder) / "runs.db")
        config = EvalConfig(task="gsm8k", strategies=["direct", "self_refine"], limit=problems,
                            concurrency=concurrency, cache=False, params={"max_rounds": 1})
        config.generator.model = "fake"
        config.generator.base_url = base_url
        started = time.perf_counter()
        items = asyncio.run(Evaluation(config, store).run())
        return time.perf_counter() - started, sum(i.calls for i in items)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--in-flight", type=int, default=256)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--problems", type=int, default=200)
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, "-m", "redraft.testing", "--latency",
                               str(args.latency)], stdout=subprocess.PIPE, text=True)
    try:
        base_url = server.stdout.readline().strip()  # type: ignore[union-attr]
        elapsed, latencies = asyncio.run(raw_calls(base_url, args.requests, args.in_flight))
        quantiles = statistics.quantiles(latencies, n=100)
        print(f"raw calls: {args.requests} requests, {args.in_flight} in flight, server latency "
              f"{args.latency * 1000:.0f} ms: {args.requests / elapsed:.0f} requests/s, request "
              f"latency p50 {quantiles[49] * 1000:.0f} ms, p95 {quantiles[94] * 1000:.0f} ms, "
              f"p99 {quantiles[98] * 1000:.0f} ms")
        elapsed, calls = evaluation(base_url, args.problems, args.in_flight)
        items = 2 * args.problems
        print(f"evaluation: gsm8k x {args.problems}, direct + self_refine (max_rounds=1), concurrency "
              f"{args.in_flight}: {items} items, {calls} calls in {elapsed:.1f} s = {items / elapsed:.0f} "
              f"items/s, {calls / elapsed:.0f} calls/s (traced to SQLite)")
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()

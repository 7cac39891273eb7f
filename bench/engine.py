"""What the engine adds to the model's own time: an evaluation against a fake endpoint, against its ideal.

    .venv/bin/python bench/engine.py [--problems 500] [--concurrency 64] [--latency 0.1]
                                     [--strategy "self_refine[max_rounds=4]:9"] ...
                                     [--profile FILE] [--top 25]

Issue 20, item 1. The fake OpenAI-compatible server (redraft.testing) runs in its own process and
answers every call after `--latency` seconds, so a perfect engine would finish an evaluation in

    ideal = sequential calls per problem x latency x max(problems / concurrency, 1)

(the problems run `concurrency` at a time, and each one waits on its calls in sequence). The
script runs `Evaluation.run()` in this process for each strategy (gsm8k, traced to a temporary
SQLite run store, no cache) and prints, for each: wall time, the ideal, their ratio, and the
client's CPU time (this process, `time.process_time`) per upstream call. Each `--strategy` is
`SPEC:DEPTH`, DEPTH the sequential calls one problem makes (self_refine[max_rounds=4] with a critic
that never says stop: a draft, then 4 x (feedback, refine) = 9; self_consistency[k=8] with `n` native:
1). `--concurrency` is also the evaluation's limit on calls in flight (`EvalConfig.concurrency`), so
one problem's latency (issue item 2) is measured with `--problems 1 --concurrency 8`. `--floor` adds
a row of bare aiohttp POSTs, as many as the first strategy's calls at the same concurrency, with no
engine at all: what the client's event loop and HTTP cost here. `--profile FILE` runs the
evaluations under cProfile (stdlib; it slows the client, so the wall figures of a profiled
run are not the ones to quote) and prints the top functions by own time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime
import json
import os
import platform
import pstats
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from redraft.runs.evaluation import EvalConfig, Evaluation
from redraft.runs.store import RunStore

DEFAULT_STRATEGIES = ["self_refine[max_rounds=4]:9", "self_consistency[k=8]:1"]
TARGET_MULTIPLE = 1.1  # wall / ideal, within
TARGET_CPU_MS = 0.5  # client CPU per call, under
ANSWER = "The answer is 18."  # no stop word: self_refine runs every round


def start_upstream(latency: float, ignore_n: bool) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "redraft.testing", "--latency", str(latency), "--text", ANSWER]
    if ignore_n:
        command.append("--ignore-n")
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 30)
    line = process.stdout.readline().strip() if ready else ""
    if not line.startswith("http"):
        process.kill()
        raise RuntimeError(f"the fake upstream did not start (exit {process.poll()}, said {line!r})")
    return process, line


def evaluate(base_url: str, spec: str, problems: int, concurrency: int) -> tuple[float, float, int, int]:
    """One evaluation: (wall s, client CPU s, calls, items with an error)."""
    with tempfile.TemporaryDirectory() as folder:
        store = RunStore(Path(folder) / "runs.db")
        config = EvalConfig(task="gsm8k", strategies=[spec], limit=problems, concurrency=concurrency,
                            cache=False)
        config.generator.model = "fake-model"
        config.generator.base_url = base_url
        evaluation = Evaluation(config, store)  # loading the task is not the engine's time
        cpu, wall = time.process_time(), time.perf_counter()
        items = asyncio.run(evaluation.run())
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return wall, cpu, sum(i.calls for i in items), sum(i.status == "error" for i in items)


async def raw_posts(base_url: str, calls: int, concurrency: int) -> tuple[float, float]:
    """The floor: `calls` bare aiohttp POSTs, `concurrency` at a time, nothing else (wall s, CPU s)."""
    import aiohttp

    body = json.dumps({"model": "fake-model", "messages": [{"role": "user", "content": "What is 6 * 3?"}],
                       "max_tokens": 16}).encode()
    limit = asyncio.Semaphore(concurrency)
    cpu, wall = time.process_time(), time.perf_counter()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one() -> None:
            async with limit, session.post(base_url + "/chat/completions", data=body,
                                           headers={"Content-Type": "application/json"}) as response:
                json.loads(await response.read())

        await asyncio.gather(*(one() for _ in range(calls)))
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--problems", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.1, help="the fake's seconds per answer")
    parser.add_argument("--strategy", action="append", help="SPEC:DEPTH (repeatable)")
    parser.add_argument("--ignore-n", action="store_true", help="the fake answers one choice whatever `n`")
    parser.add_argument("--floor", action="store_true",
                        help="add a row: bare aiohttp POSTs, as many as the first strategy's calls")
    parser.add_argument("--profile", help="run under cProfile and write the stats to this file")
    parser.add_argument("--top", type=int, default=25, help="functions listed from the profile")
    args = parser.parse_args()
    strategies = [s.rsplit(":", 1) for s in (args.strategy or DEFAULT_STRATEGIES)]
    process, base_url = start_upstream(args.latency, args.ignore_n)
    profiler = cProfile.Profile() if args.profile else None
    rows = []
    try:
        for spec, depth in strategies:
            if profiler is not None:
                profiler.enable()
            wall, cpu, calls, errors = evaluate(base_url, spec, args.problems, args.concurrency)
            if profiler is not None:
                profiler.disable()
            ideal = int(depth) * args.latency * max(args.problems / args.concurrency, 1.0)
            rows.append((spec, int(depth), calls, errors, wall, ideal, cpu))
        if args.floor:
            calls = rows[0][2]
            wall, cpu = asyncio.run(raw_posts(base_url, calls, args.concurrency))
            # Every call independent: the ideal is calls x latency / concurrency.
            rows.append(("raw aiohttp POSTs (floor)", 1, calls, 0, wall,
                         calls * args.latency / args.concurrency, cpu))
    finally:
        process.terminate()
        process.wait(10)
    print(f"redraft engine overhead: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, {platform.platform()}, "
          f"Python {platform.python_version()}" + (" (PROFILED: wall figures inflated)" if profiler else ""))
    print(f"gsm8k x {args.problems}, concurrency {args.concurrency}, fake upstream "
          f"{args.latency * 1000:.0f} ms per call{' (ignores n)' if args.ignore_n else ''}, "
          "traced to SQLite, no cache")
    header = (f"{'strategy':<28} {'depth':>5} {'calls':>6} {'errors':>6} {'wall s':>7} {'ideal s':>7} "
              f"{'wall/ideal':>10} {'CPU ms/call':>11}")
    print(header)
    print("-" * len(header))
    for spec, depth, calls, errors, wall, ideal, cpu in rows:
        multiple, per_call = wall / ideal, cpu * 1000 / max(calls, 1)
        print(f"{spec:<28} {depth:>5} {calls:>6} {errors:>6} {wall:>7.2f} {ideal:>7.2f} {multiple:>9.2f}x "
              f"{per_call:>11.2f}")
    for spec, _, calls, _, wall, ideal, cpu in rows[:len(strategies)]:
        ok = wall <= TARGET_MULTIPLE * ideal and cpu * 1000 / max(calls, 1) < TARGET_CPU_MS
        print(f"target {spec}: wall within {TARGET_MULTIPLE}x ideal and CPU < {TARGET_CPU_MS} ms/call: "
              f"{'met' if ok else 'MISSED'}")
    if profiler is not None:
        profiler.dump_stats(args.profile)
        print()
        pstats.Stats(args.profile).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()

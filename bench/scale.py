"""An evaluation at scale: many problems x `direct` against the fake endpoint, its store and its report.

    .venv/bin/python bench/scale.py [--problems 10000] [--concurrency 256] [--latency 0.1]

Issue 20, item 5. Writes `--problems` numeric problems to a JSONL task in a temporary folder, runs
`Evaluation.run()` over them with `direct` (the fake upstream in its own process, as in
bench/engine.py), then summarises the evaluation and builds its HTML report (`redraft report
--html`'s code path). Prints the wall time against the ideal (problems x latency / concurrency),
client CPU per call, peak RSS of this process (`resource.getrusage`), the run store's size on disk
(database and WAL) and its write rate (items and calls committed per second of wall), and the
report's build time and size.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine import start_upstream  # noqa: E402 (the same fake upstream as the engine bench)

from redraft.report.html import render_html  # noqa: E402
from redraft.report.summary import summarize  # noqa: E402
from redraft.runs.evaluation import EvalConfig, Evaluation  # noqa: E402
from redraft.runs.store import RunStore  # noqa: E402


def store_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--problems", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("--latency", type=float, default=0.1)
    args = parser.parse_args()
    process, base_url = start_upstream(args.latency, ignore_n=False)
    try:
        with tempfile.TemporaryDirectory() as folder:
            tasks = Path(folder) / "problems.jsonl"
            tasks.write_text("".join(json.dumps({"id": f"p{i}", "question": f"What is {i} + 18 - {i}?",
                                                 "answer": "18"}) + "\n" for i in range(args.problems)))
            db = Path(folder) / "runs.db"
            store = RunStore(db)
            config = EvalConfig(task=f"jsonl:{tasks}", strategies=["direct"], concurrency=args.concurrency,
                                cache=False)
            config.generator.model = "fake-model"
            config.generator.base_url = base_url
            evaluation = Evaluation(config, store)
            cpu, wall = time.process_time(), time.perf_counter()
            items = asyncio.run(evaluation.run())
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            calls = sum(i.calls for i in items)
            errors = sum(i.status == "error" for i in items)
            size = store_bytes(db)
            built = time.perf_counter()
            summary, by_strategy = summarize(store, evaluation.eval_id)
            html = render_html(summary, by_strategy, store)
            built = time.perf_counter() - built
            store.close()
    finally:
        process.terminate()
        process.wait(10)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ideal = args.problems * args.latency / args.concurrency
    print(f"redraft at scale: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, "
          f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, {platform.platform()}, "
          f"Python {platform.python_version()}")
    print(f"{args.problems} problems x direct, concurrency {args.concurrency}, fake upstream "
          f"{args.latency * 1000:.0f} ms per call, traced to SQLite, no cache")
    print(f"evaluation: {len(items)} items ({errors} errors), {calls} calls in {wall:.1f} s; "
          f"ideal {ideal:.1f} s ({wall / ideal:.2f}x); client CPU {cpu * 1000 / max(calls, 1):.2f} ms "
          "per call")
    per_item = size / max(len(items), 1) / 1024
    print(f"peak RSS {peak_mib:.0f} MiB; run store {size / 2**20:.1f} MiB ({per_item:.1f} KiB per item)"
          f"; writes {len(items) / wall:.0f} items/s, {calls / wall:.0f} calls/s committed")
    print(f"HTML report: built in {built:.1f} s (summary and render), {len(html.encode()) / 2**20:.2f} MiB")


if __name__ == "__main__":
    main()

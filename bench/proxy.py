"""What `redraft serve` costs on top of its upstream: direct, passthrough and a strategy, under load.

    .venv/bin/python bench/proxy.py [--clients 64] [--seconds 8] [--warmup 1] [--latency 0.1]
                                    [--client aiohttp|openai] [--strategy "self_consistency[k=8]"]
                                    [--strategy-via server|model] [--fanout 8] [--rounds 1]
                                    [--proxy-cmd TEMPLATE]

Issue 16 sets the proxy a throughput target: 64 concurrent clients against a fake upstream that
answers after 100 ms, on a 2-core machine; passthrough at least 0.8 of the direct throughput and
under 5 ms added to the p50 latency; a strategy of k parallel samples within 1.3x one upstream
call's p50. This script measures exactly that, in one run and one process tree, so the figure
comes with the machine it was taken on:

- the fake OpenAI-compatible server (redraft.testing) runs in its own process;
- `redraft serve --upstream URL` (passthrough) and, with `--strategy-via server`, a second one with
  `--strategy SPEC`; with `--strategy-via model`, the passthrough server is asked for the model
  `SPEC/fake-model` instead;
- the load generator runs in its own process too (this file, with `--load-url`), so it does not
  share the proxy's event loop; raw aiohttp POSTs by default (light on the CPU), the official
  openai SDK on its aiohttp transport with `--client openai` (its own CPU per request is several
  times larger, so on 2 cores the client can become the bottleneck: the `client CPU` column says);
- a last row loads the upstream directly with clients x `--fanout` (the strategy's upstream calls
  per request): what the fake and the machine allow the strategy row at best, whatever the proxy.

On 2 cores the upstream, the proxy and the load generator share the cores, as they would for a
user trying the proxy on a laptop, and the figures move a few ms from run to run: `--rounds N`
interleaves N runs per target and pools them. `--proxy-cmd` replaces the `redraft serve` command
(a template with `{python}`, `{upstream}`, `{host}` and `{port}`; `--strategy SPEC` is appended
for the strategy server), to measure another proxy the same way. Every subprocess is stopped on exit,
on failure and on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import select
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import IO, Any

DEFAULT_PROXY_CMD = "{python} -m redraft serve --upstream {upstream} --host {host} --port {port}"
HOST = "127.0.0.1"
QUESTION = "What is 6 * 3?"
TARGET_RATIO = 0.8  # passthrough throughput / direct throughput, at least
TARGET_ADDED_P50_MS = 5.0  # passthrough p50 - direct p50, under
TARGET_STRATEGY_MULTIPLE = 1.3  # strategy p50 / one upstream call's p50, within


@dataclass
class Sample:
    """What one load run saw (the load generator prints it as JSON)."""

    latencies_ms: list[float]  # the requests that succeeded inside the measured window
    errors: int
    seconds: float
    client_cpu: float  # the load generator's CPU time / its wall time (1.0 = one core busy)
    #: Every request the workers sent, warm-up and tail included: what the target was asked, to
    #: divide what reached the upstream by (each one is awaited to its end before the run returns).
    requests: int = 0
    #: The `usage` object of the first answer that succeeded, as the target reported it (None: none).
    usage: dict[str, Any] | None = None


@dataclass
class Result:
    """One target's figures, pooled over its rounds."""

    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    client_cpu: float

    @classmethod
    def pool(cls, samples: list[Sample]) -> Result:
        latencies = [ms for s in samples for ms in s.latencies_ms]
        seconds = sum(s.seconds for s in samples)
        quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
        return cls(len(latencies) / seconds, quantiles[49], quantiles[98], sum(s.errors for s in samples),
                   statistics.fmean(s.client_cpu for s in samples))


# -- the load generator (its own process) -------------------------------------------------------


async def generate_load(url: str, model: str, client: str, clients: int, seconds: float,
                        warmup: float, extra: dict[str, Any] | None = None) -> Sample:
    """`clients` workers post back to back for `warmup + seconds`; only the window after the warm-up
    counts (requests that start and end inside it). `extra` is merged into each request's body."""
    call: Callable[[], Awaitable[tuple[bool, Any]]]  # (succeeded, the answer: raw bytes or the SDK's)
    usage_of: Callable[[Any], dict[str, Any] | None]
    close: Callable[[], Awaitable[None]]
    if client == "openai":
        from openai import AsyncOpenAI, DefaultAioHttpClient

        sdk = AsyncOpenAI(base_url=url, api_key="bench", http_client=DefaultAioHttpClient(),
                          max_retries=0, timeout=120)

        async def call() -> tuple[bool, Any]:
            answer = await sdk.chat.completions.create(
                model=model, messages=[{"role": "user", "content": QUESTION}], max_tokens=16,
                extra_body=extra or None)
            return True, answer

        def usage_of(answer: Any) -> dict[str, Any] | None:
            return answer.usage.model_dump(exclude_none=True) if answer.usage is not None else None

        close = sdk.close
    else:
        import aiohttp

        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0),
                                        timeout=aiohttp.ClientTimeout(total=120))
        body = json.dumps({"model": model, "messages": [{"role": "user", "content": QUESTION}],
                           "max_tokens": 16, **(extra or {})}).encode()
        endpoint = url.rstrip("/") + "/chat/completions"

        async def call() -> tuple[bool, Any]:
            headers = {"Content-Type": "application/json"}
            async with session.post(endpoint, data=body, headers=headers) as response:
                return response.status == 200, await response.read()

        def usage_of(answer: Any) -> dict[str, Any] | None:
            usage = json.loads(answer).get("usage")
            return usage if isinstance(usage, dict) else None

        close = session.close

    latencies: list[float] = []
    errors = requests = 0
    first_answer: Any = None
    cpu_started, wall_started = time.process_time(), time.perf_counter()
    window_start = wall_started + warmup
    window_end = window_start + seconds

    async def worker() -> None:
        nonlocal errors, requests, first_answer
        while (started := time.perf_counter()) < window_end:
            requests += 1
            try:
                ok, answer = await call()
            except Exception:
                ok, answer = False, None
            ended = time.perf_counter()
            if ok and first_answer is None:
                first_answer = answer
            if started >= window_start and ended <= window_end:
                if ok:
                    latencies.append(ended - started)
                else:
                    errors += 1

    try:
        await asyncio.gather(*(worker() for _ in range(clients)))
    finally:
        await close()
    cpu = (time.process_time() - cpu_started) / (time.perf_counter() - wall_started)
    return Sample([round(s * 1000, 3) for s in latencies], errors, seconds, cpu, requests,
                  usage_of(first_answer) if first_answer is not None else None)


def run_load(url: str, model: str, clients: int, args: argparse.Namespace,
             extra: dict[str, Any] | None = None) -> Sample:
    """One load run, in a subprocess of its own (`args`: client, seconds, warmup; `extra`: body fields)."""
    command = [sys.executable, __file__, "--load-url", url, "--load-model", model, "--client", args.client,
               "--clients", str(clients), "--seconds", str(args.seconds), "--warmup", str(args.warmup)]
    if extra:
        command += ["--load-extra", json.dumps(extra)]
    with child(command, stdout=subprocess.PIPE) as process:
        out, _ = process.communicate(timeout=args.warmup + args.seconds + 180)
    if process.returncode != 0:
        raise RuntimeError(f"the load generator failed (exit {process.returncode})")
    return Sample(**json.loads(out.strip().splitlines()[-1]))


# -- the processes under test -------------------------------------------------------------------


_children: list[subprocess.Popen[str]] = []


@contextmanager
def child(command: list[str], **popen: Any) -> Iterator[subprocess.Popen[str]]:
    """A subprocess that is stopped (SIGTERM, then SIGKILL) when the block exits, however it exits."""
    # A session of its own: Ctrl-C reaches this script alone, which then stops each child in turn.
    process = subprocess.Popen(command, text=True, start_new_session=True, **popen)
    _children.append(process)
    try:
        yield process
    finally:
        stop(process)


def stop(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
    if process in _children:
        _children.remove(process)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def start_upstream(stack: ExitStack, latency: float) -> str:
    """The fake OpenAI-compatible server in its own process; its base URL (it prints it when ready)."""
    command = [sys.executable, "-m", "redraft.testing", "--latency", str(latency),
               "--text", "The answer is 18."]
    process = stack.enter_context(child(command, stdout=subprocess.PIPE))
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], 30)
    line = process.stdout.readline().strip() if ready else ""
    if not line.startswith("http"):
        raise RuntimeError(f"the fake upstream did not start (exit {process.poll()}, said {line!r})")
    return line


def start_proxy(stack: ExitStack, template: str, upstream: str, strategy: str | None, *,
                env: dict[str, str] | None = None, startup_s: float = 60) -> str:
    """A proxy from `template`, with `--strategy` if given (and `env` as its whole environment, if
    given); its base URL once GET /health answers 200, within `startup_s`."""
    port = free_port()
    command = shlex.split(template.format(python=shlex.quote(sys.executable), upstream=shlex.quote(upstream),
                                          host=HOST, port=port))
    if strategy is not None:
        command += ["--strategy", strategy]
    log: IO[str] = stack.enter_context(tempfile.TemporaryFile("w+"))  # noqa: SIM115 (what it says, if it fails)
    process = stack.enter_context(child(command, stdout=log, stderr=subprocess.STDOUT, env=env))
    deadline = time.monotonic() + startup_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/health", timeout=2) as response:
                if response.status == 200:
                    return f"http://{HOST}:{port}/v1"
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    log.seek(0)
    said = log.read()[-2000:]
    raise RuntimeError(f"the proxy did not answer /health (exit {process.poll()}): {shlex.join(command)}\n"
                       f"{said}")


# -- the report ---------------------------------------------------------------------------------


def report(rows: list[tuple[str, Result]], args: argparse.Namespace) -> None:
    direct = rows[0][1]
    print(f"redraft serve, proxy overhead: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"machine: {os.cpu_count()} CPUs ({len(os.sched_getaffinity(0))} usable), {platform.platform()}, "
          f"Python {platform.python_version()}")
    print(f"load: {args.clients} concurrent clients ({args.client}), {args.seconds:g} s after "
          f"{args.warmup:g} s warm-up, {args.rounds} round(s) per target; fake upstream latency "
          f"{args.latency * 1000:.0f} ms")
    print()
    header = (f"{'target':<40} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} {'client CPU':>10} "
              f"{'vs direct':>9} {'added p50':>9} {'p50/call':>8}")
    print(header)
    print("-" * len(header))
    for name, r in rows:
        versus = added = multiple = ""
        if r is not direct:
            versus = f"{r.rps / direct.rps:.2f}" if direct.rps else "-"
            added = f"{r.p50_ms - direct.p50_ms:+.1f}"
            multiple = f"{r.p50_ms / direct.p50_ms:.2f}x"
        print(f"{name:<40} {r.rps:>8.0f} {r.p50_ms:>8.1f} {r.p99_ms:>8.1f} {r.errors:>6} "
              f"{r.client_cpu:>9.0%} {versus:>9} {added:>9} {multiple:>8}")
    print()
    ceiling = args.clients / args.latency
    over = direct.p50_ms - args.latency * 1000
    print(f"direct: {direct.rps / ceiling:.0%} of the {ceiling:.0f} req/s that {args.clients} closed-loop "
          f"clients x {args.latency * 1000:.0f} ms allow; its p50 is {over:.1f} ms over the fake's latency "
          "(the fake, the load generator and loopback on shared cores)")
    if direct.rps < 0.8 * ceiling:
        print("note: the upstream or the load generator is a bottleneck here, so the figures mix their cost "
              "with the proxy's" + ("; try --client aiohttp" if args.client == "openai" else ""))
    passthrough = rows[1][1]
    ratio_ok = passthrough.rps >= TARGET_RATIO * direct.rps
    added_ok = passthrough.p50_ms - direct.p50_ms < TARGET_ADDED_P50_MS
    print(f"target, passthrough >= {TARGET_RATIO} of direct throughput: {'met' if ratio_ok else 'MISSED'}; "
          f"added p50 < {TARGET_ADDED_P50_MS:g} ms: {'met' if added_ok else 'MISSED'}")
    if len(rows) > 2:
        strategy = rows[2][1]
        multiple_ok = strategy.p50_ms <= TARGET_STRATEGY_MULTIPLE * direct.p50_ms
        print(f"target, {args.strategy} p50 within {TARGET_STRATEGY_MULTIPLE}x one upstream call's p50 "
              f"(direct's): {'met' if multiple_ok else 'MISSED'}")
    if len(rows) > 3:
        print(f"the upstream alone at the strategy's concurrency ({rows[3][0]}) is at "
              f"{rows[3][1].p50_ms / direct.p50_ms:.2f}x: no proxy can do better than that here")


@contextmanager
def bench_exits() -> Iterator[None]:
    """A bench's main: Ctrl-C exits 130, a RuntimeError prints one line and exits 1, and whatever
    happens every child process started (upstream, proxies, load generators) is stopped."""
    try:
        yield
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
    finally:
        for process in list(_children):  # anything a failure left behind
            stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=64, help="concurrent clients (default 64)")
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per target")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring")
    parser.add_argument("--rounds", type=int, default=1,
                        help="runs per target, interleaved and pooled (the figures move a few ms run to run)")
    parser.add_argument("--latency", type=float, default=0.1, help="the fake upstream's seconds per answer")
    parser.add_argument("--client", choices=["aiohttp", "openai"], default="aiohttp",
                        help="load generator: raw aiohttp POSTs, or the openai SDK (aiohttp transport)")
    parser.add_argument("--strategy", default="self_consistency[k=8]",
                        help="the strategy measured after passthrough ('' for none)")
    parser.add_argument("--strategy-via", choices=["server", "model"], default="server",
                        help="a second server with --strategy, or the model prefix SPEC/fake-model")
    parser.add_argument("--fanout", type=int, default=8,
                        help="upstream calls per strategy request: adds a row, direct at clients x fanout, "
                             "the best the strategy row can do on this machine (0: none)")
    parser.add_argument("--proxy-cmd", default=DEFAULT_PROXY_CMD,
                        help="the proxy's command: a template with {python} {upstream} {host} {port}")
    parser.add_argument("--load-url", help=argparse.SUPPRESS)  # the load generator's own process
    parser.add_argument("--load-model", default="fake-model", help=argparse.SUPPRESS)
    parser.add_argument("--load-extra", type=json.loads, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_url:
        result = asyncio.run(generate_load(args.load_url, args.load_model, args.client, args.clients,
                                           args.seconds, args.warmup, args.load_extra))
        print(json.dumps(result.__dict__), flush=True)
        return

    def terminated(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds through the ExitStack: every child is stopped

    signal.signal(signal.SIGTERM, terminated)
    with bench_exits(), ExitStack() as stack:
        upstream = start_upstream(stack, args.latency)
        passthrough = start_proxy(stack, args.proxy_cmd, upstream, None)
        targets = [("direct (fake upstream)", upstream, "fake-model"),
                   ("passthrough", passthrough, "fake-model")]
        if args.strategy and args.strategy_via == "server":
            served = start_proxy(stack, args.proxy_cmd, upstream, args.strategy)
            targets.append((f"{args.strategy} (--strategy)", served, "fake-model"))
        elif args.strategy:
            targets.append((f"{args.strategy} (model prefix)", passthrough,
                            f"{args.strategy}/fake-model"))
        clients = {name: args.clients for name, _, _ in targets}
        if args.strategy and args.fanout > 1:  # the upstream alone, under the strategy's load
            reference = f"direct at {args.clients * args.fanout} clients (x{args.fanout})"
            targets.append((reference, upstream, "fake-model"))
            clients[reference] = args.clients * args.fanout
        samples: dict[str, list[Sample]] = {name: [] for name, _, _ in targets}
        for _ in range(args.rounds):  # interleaved, so a drift in the machine touches every target
            for name, url, model in targets:
                samples[name].append(run_load(url, model, clients[name], args))
        report([(name, Result.pool(runs)) for name, runs in samples.items()], args)


if __name__ == "__main__":
    main()

"""redraft serve and optillm side by side: one fake upstream, the same requests, passthrough and each
tool's self-consistency and best-of-n at equal n.

    PYTHONPATH=src .venv/bin/python bench/optillm.py [--n 8] [--clients 16] [--seconds 4] [--warmup 1]
        [--latency 0.1] [--rounds 1] [--venv /tmp/redraft-optillm-venv] [--optillm-spec optillm]
        [--no-install]

Issue 20 asks how redraft's proxy compares with optillm (github.com/codelion/optillm), the best known
OpenAI-compatible proxy that runs test-time strategies. optillm is installed with pip into a venv of
its own (`--venv`, created if missing, reused after; its dependencies include torch, transformers and
gradio, so the first install takes minutes and a few GB). When it cannot be installed or started,
the script says why and prints redraft's rows alone (exit 0).

Both proxies point at the same fake upstream (`python -m redraft.testing`, its own process, every
answer after `--latency` s), which counts what it receives (`GET /v1/fake/stats`). Each row is one
load run from bench/proxy.py's load generator (its own process, `--clients` closed-loop workers).
For each row the table gives requests/s and latency, the proxy process's CPU time per request
(Linux /proc), and what reached the upstream per client request: calls, how they were asked
(`1×n=8` is one request for eight choices; `8×n=1` eight requests of one), and the tokens the
upstream's `usage` counted, next to the `usage` the tool reported to its client.
How each tool is asked for each method:

- redraft: `redraft serve --upstream URL`, the method as a model prefix
  (`self_consistency[k=N]/fake-model`, `best_of_n[n=N]/fake-model`);
- optillm: `optillm --base-url URL --port P --best-of-n N` with `OPENAI_API_KEY` set (its OpenAI
  client; any `OPTILLM_*`, Cerebras or Azure key in the environment is removed, as they would switch
  it to another client), the approach as a model prefix (`self_consistency-fake-model`,
  `bon-fake-model`); a plain `fake-model` is its passthrough (approach `none`). optillm's
  `self_consistency` draws a fixed 5 samples with no setting to change it, so its
  `majority_voting` plugin (`k` in the request body) is measured too, as its equal-n
  self-consistency.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import signal
import statistics
import subprocess
import sys
import urllib.request
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proxy import DEFAULT_PROXY_CMD, Sample, _children, bench_exits, run_load, start_proxy, start_upstream

DEFAULT_VENV = Path("/tmp/redraft-optillm-venv")
#: Environment variables that make optillm pick a client other than its OpenAI one (or a default approach).
OPTILLM_SWITCHES = ("CEREBRAS_API_KEY", "AZURE_OPENAI_API_KEY")
#: What optillm's `self_consistency` samples, whatever is asked (`AdvancedSelfConsistency.num_samples`).
OPTILLM_SELF_CONSISTENCY_SAMPLES = 5


class Unavailable(Exception):
    """optillm cannot be installed or started here: the rows are skipped, saying why."""


@dataclass
class Target:
    """One row: a tool, a method, and the request that asks the tool for it."""

    tool: str
    method: str
    url: str
    model: str
    extra: dict[str, Any] | None = None
    samples: int | None = None  # what it should sample per request (None: passthrough)
    pid: int | None = None  # the proxy's process, whose CPU time the row reports

    @property
    def asked(self) -> str:
        fields = "".join(f", {k}={v}" for k, v in (self.extra or {}).items())
        return f"`{self.model}`{fields}"


@dataclass
class Row:
    """A target's load runs and what the upstream received during them."""

    target: Target
    samples: list[Sample] = field(default_factory=list)
    upstream: Counter[str] = field(default_factory=Counter)  # chat_requests, choices_sent, tokens
    by_n: Counter[int] = field(default_factory=Counter)
    proxy_cpu_s: float = 0.0

    @property
    def requests(self) -> int:
        return sum(s.requests for s in self.samples)

    @property
    def latencies(self) -> list[float]:
        return [ms for s in self.samples for ms in s.latencies_ms]

    def per_request(self, key: str) -> float:
        return self.upstream[key] / self.requests if self.requests else float("nan")


# -- optillm ------------------------------------------------------------------------------------


def optillm_version(python: Path) -> str | None:
    """The optillm installed in that venv, or None."""
    probe = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('optillm'))"],
                           capture_output=True, text=True, timeout=60)
    return probe.stdout.strip() if probe.returncode == 0 and probe.stdout.strip() else None


def ensure_optillm(venv: Path, spec: str, install: bool, timeout_s: float) -> tuple[Path, str]:
    """optillm's console script in `venv` and its version, creating the venv and installing `spec`
    if needed (and allowed)."""
    python = venv / "bin" / "python"
    if not python.exists():
        if not install:
            raise Unavailable(f"no venv at {venv} (and --no-install)")
        print(f"creating a venv for optillm at {venv}", file=sys.stderr, flush=True)
        made = subprocess.run([sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True)
        if made.returncode != 0:
            raise Unavailable(f"`python -m venv {venv}` failed: {made.stderr.strip()[-500:]}")
    version = optillm_version(python)
    if version is None:
        if not install:
            raise Unavailable(f"optillm is not installed in {venv} (and --no-install)")
        print(f"installing {spec} into {venv} with pip (it pulls torch, transformers, gradio: minutes, "
              "a few GB)", file=sys.stderr, flush=True)
        try:
            pip = subprocess.run([str(python), "-m", "pip", "install", "-q", spec], capture_output=True,
                                 text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired as error:
            raise Unavailable(f"`pip install {spec}` ran past {timeout_s:g} s") from error
        if pip.returncode != 0:
            said = "\n".join(line for line in (pip.stderr + pip.stdout).splitlines()
                             if not line.startswith("WARNING: Location"))[-1500:]
            raise Unavailable(f"`pip install {spec}` failed (exit {pip.returncode}):\n{said}")
        version = optillm_version(python)
        if version is None:
            raise Unavailable(f"`pip install {spec}` succeeded but optillm does not import in {venv}")
    script = venv / "bin" / "optillm"
    if not script.exists():
        raise Unavailable(f"optillm {version} has no `optillm` command in {script.parent}")
    return script, version


def optillm_env() -> dict[str, str]:
    """optillm's environment: its OpenAI client with a dummy key, nothing that picks another one."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("OPTILLM_") and k not in OPTILLM_SWITCHES and k != "PYTHONPATH"}
    env["OPENAI_API_KEY"] = "bench"
    return env


# -- the runs -----------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), to say what a proxy costs per request."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def upstream_stats(upstream: str) -> dict[str, Any]:
    with urllib.request.urlopen(upstream + "/fake/stats", timeout=10) as response:
        return dict(json.loads(response.read()))


def measure(row: Row, upstream: str, args: argparse.Namespace) -> None:
    """One load run against the row's target; the upstream's counts before and after are its share."""
    pid = row.target.pid
    before, cpu_before = upstream_stats(upstream), cpu_seconds(pid) if pid else 0.0
    sample = run_load(row.target.url, row.target.model, args.clients, args, row.target.extra)
    after = upstream_stats(upstream)
    row.proxy_cpu_s += cpu_seconds(pid) - cpu_before if pid else 0.0
    row.samples.append(sample)
    for key in ("chat_requests", "choices_sent", "prompt_tokens", "completion_tokens"):
        row.upstream[key] += after[key] - before[key]
    for n, count in after["requests_by_n"].items():
        row.by_n[int(n)] += count - before["requests_by_n"].get(n, 0)


def targets(upstream: str, redraft: tuple[str, int], optillm: tuple[str, int] | None, n: int) -> list[Target]:
    """The rows, each redraft row next to optillm's for the same method (a drift in the machine's
    load then touches both). `redraft`, `optillm`: each proxy's base URL and process id."""
    url, pid = redraft
    rows = [Target("fake upstream", "direct", upstream, "fake-model"),
            Target("redraft", "passthrough", url, "fake-model", pid=pid)]
    if optillm:
        rows.append(Target("optillm", "passthrough", optillm[0], "fake-model", pid=optillm[1]))
    rows.append(Target("redraft", "self-consistency", url, f"self_consistency[k={n}]/fake-model",
                       samples=n, pid=pid))
    if optillm:
        rows += [Target("optillm", "self-consistency", optillm[0], "self_consistency-fake-model",
                        samples=OPTILLM_SELF_CONSISTENCY_SAMPLES, pid=optillm[1]),
                 Target("optillm", "self-consistency (majority_voting)", optillm[0],
                        "majority_voting-fake-model", {"k": n}, samples=n, pid=optillm[1])]
    rows.append(Target("redraft", "best-of-n", url, f"best_of_n[n={n}]/fake-model", samples=n, pid=pid))
    if optillm:
        rows.append(Target("optillm", "best-of-n", optillm[0], "bon-fake-model", samples=n, pid=optillm[1]))
    return rows


# -- the report ---------------------------------------------------------------------------------


def times(count: float) -> str:
    if math.isnan(count):
        return "-"
    return f"{count:.0f}" if abs(count - round(count)) < 0.005 else f"{count:.2f}"


def how_asked(row: Row) -> str:
    """The upstream requests per client request, by the `n` they asked: `1×n=8 + 8×n=1`."""
    if not row.requests:
        return "-"
    by_n = sorted(row.by_n.items(), reverse=True)
    return " + ".join(f"{times(count / row.requests)}×n={n}" for n, count in by_n if count)


def tokens(prompt: Any, completion: Any, total: Any) -> str:
    def one(value: Any) -> str:
        return "-" if value is None else times(float(value))
    return f"{one(prompt)} / {one(completion)} / {one(total)}"


def proxy_cpu(row: Row) -> str:
    if row.target.pid is None or not row.requests:
        return "-"
    return f"{row.proxy_cpu_s * 1000 / row.requests:.1f}"


def reported(row: Row) -> str:
    usage = next((s.usage for s in row.samples if s.usage is not None), None)
    if usage is None:
        return "none"
    return tokens(usage.get("prompt_tokens"), usage.get("completion_tokens"), usage.get("total_tokens"))


def report(rows: list[Row], args: argparse.Namespace, versions: dict[str, str], load: list[float],
           skipped: str | None) -> None:
    now = datetime.datetime.now().astimezone()
    affinity = len(os.sched_getaffinity(0))
    end_load = os.getloadavg()
    print(f"## redraft serve and optillm, side by side: {now:%Y-%m-%d %H:%M %Z}")
    print()
    print(f"- machine: nproc {affinity} ({os.cpu_count()} CPUs), load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} at the start, {end_load[0]:.2f} {end_load[1]:.2f} {end_load[2]:.2f} at the end; "
          f"{platform.platform()}, Python {platform.python_version()}")
    print(f"- command: `{shlex.join(['python', *sys.argv])}`")
    print("- " + ", ".join(f"{tool} {version}" for tool, version in versions.items()))
    print(f"- load: {args.clients} concurrent clients (bench/proxy.py's load generator, {args.client}), "
          f"{args.seconds:g} s measured after {args.warmup:g} s warm-up, {args.rounds} round(s) per row; "
          f"fake upstream latency {args.latency * 1000:.0f} ms; n = {args.n}")
    if skipped:
        print(f"- optillm: SKIPPED, {skipped}")
    print()
    print("| tool | method | asked as | req/s | p50 ms | p95 ms | p50 / direct | errors | proxy CPU ms "
          "per request | upstream calls per request | how they were asked | upstream tokens per request "
          "(prompt / completion / total) | usage reported to the client |")
    print("|---|---|---|--:|--:|--:|--:|--:|--:|--:|---|---|---|")
    direct = statistics.median(rows[0].latencies) if rows[0].latencies else float("nan")
    for row in rows:
        latencies = row.latencies
        seconds = sum(s.seconds for s in row.samples)
        cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
        upstream = tokens(row.per_request("prompt_tokens"), row.per_request("completion_tokens"),
                          row.per_request("prompt_tokens") + row.per_request("completion_tokens"))
        print(f"| {row.target.tool} | {row.target.method} | {row.target.asked} "
              f"| {len(latencies) / seconds:.1f} | {cuts[49]:.0f} | {cuts[94]:.0f} "
              f"| {cuts[49] / direct:.2f}× "
              f"| {sum(s.errors for s in row.samples)} | {proxy_cpu(row)} "
              f"| {times(row.per_request('chat_requests'))} "
              f"| {how_asked(row)} | {upstream} | {reported(row)} |")
    print()
    for row in rows:  # equal n: what each sampling row really drew, from the upstream's choices
        wanted = row.target.samples
        if wanted is None or not row.requests or row.target.method.startswith("best"):
            continue
        drawn = row.per_request("choices_sent")
        if abs(drawn - args.n) > 0.005:
            print(f"- not equal n: {row.target.tool} {row.target.method} drew {times(drawn)} samples per "
                  f"request, not {args.n}" + (" (optillm's self_consistency has a fixed 5, no setting; its "
                                               "majority_voting row is the equal-n one)"
                                               if row.target.model.startswith("self_consistency-") else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=8,
                        help="samples for self-consistency and best-of-n (default 8)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--seconds", type=float, default=4.0, help="measured seconds per row (default 4)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds before measuring (default 1)")
    parser.add_argument("--rounds", type=int, default=1, help="runs per row, interleaved and pooled")
    parser.add_argument("--latency", type=float, default=0.1, help="the fake upstream's seconds per answer")
    parser.add_argument("--client", choices=["aiohttp", "openai"], default="aiohttp",
                        help="load generator: raw aiohttp POSTs, or the openai SDK (aiohttp transport)")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV,
                        help=f"optillm's venv, created and installed into if missing ({DEFAULT_VENV})")
    parser.add_argument("--optillm-spec", default="optillm", help="what to pip install (e.g. optillm==0.3.4)")
    parser.add_argument("--no-install", action="store_true",
                        help="use optillm only if the venv already has it; never run pip")
    parser.add_argument("--install-timeout", type=float, default=3600, help="seconds for pip install")
    parser.add_argument("--optillm-arg", action="append", default=[],
                        help="an extra argument for optillm's command (repeat it), e.g. --optillm-arg=--log "
                             "--optillm-arg=warning")
    args = parser.parse_args()
    if args.n < 2:
        parser.error("--n must be at least 2 (sampling methods)")

    def terminated(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds through the ExitStack: every child is stopped

    signal.signal(signal.SIGTERM, terminated)
    load = list(os.getloadavg())
    versions = {"redraft": redraft_version()}
    skipped: str | None = None
    with bench_exits():
        try:
            script, versions["optillm"] = ensure_optillm(args.venv, args.optillm_spec, not args.no_install,
                                                         args.install_timeout)
        except Unavailable as why:
            script, skipped = None, str(why)
            print(f"optillm skipped: {why}", file=sys.stderr, flush=True)
        with ExitStack() as stack:
            upstream = start_upstream(stack, args.latency)
            redraft = start_proxy(stack, DEFAULT_PROXY_CMD, upstream, None), _children[-1].pid
            optillm = None
            if script is not None:
                template = (f"{shlex.quote(str(script))} --base-url {{upstream}} --port {{port}} "
                            f"--best-of-n {args.n} " + shlex.join(args.optillm_arg))
                try:  # start_proxy's process is the last child started
                    optillm = (start_proxy(stack, template, upstream, None, env=optillm_env(), startup_s=240),
                               _children[-1].pid)
                except RuntimeError as why:
                    skipped = f"it did not start: {why}"
                    print(f"optillm skipped: {skipped}", file=sys.stderr, flush=True)
                    versions.pop("optillm", None)
            rows = [Row(t) for t in targets(upstream, redraft, optillm, args.n)]
            for _ in range(args.rounds):
                for row in rows:
                    print(f"measuring {row.target.tool} {row.target.method}", file=sys.stderr, flush=True)
                    measure(row, upstream, args)
        report(rows, args, versions, load, skipped)


def redraft_version() -> str:
    """redraft's version and, in a checkout, its commit (the figures are for that code)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("redraft")
    except PackageNotFoundError:
        found = "(not installed)"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent)
    return found + (f" at {commit.stdout.strip()}" if commit.returncode == 0 else "")


if __name__ == "__main__":
    main()

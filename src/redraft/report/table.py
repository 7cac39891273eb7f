"""The comparison table in the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from redraft.report.summary import EvalSummary
from redraft.runs.metrics import plain_stage


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def render_table(summary: EvalSummary, console: Console) -> None:
    record = summary.eval
    status = ("" if summary.complete
              else f" · {record.status.upper()}: resume with redraft evals resume {record.id}")
    table = Table(title=f"eval {record.id} · {record.task} · {summary.problems} problems{status}")
    for column in ("strategy", "n", "accuracy (95% CI)", "by round", "w→r / r→w", "CL / CS",
                   "calls/prob", "tokens/prob", "vs direct", "vs SC @ equal tokens"):
        table.add_column(column, overflow="fold", no_wrap=column == "strategy")
    for m in summary.strategies:
        name = m.strategy + (" [ORACLE]" if m.oracle else "") + (" (self-graded)" if m.self_graded else "")
        by_round = " → ".join(pct(r.accuracy) for r in m.rounds) if len(m.rounds) > 1 else ""
        flips = (f"{m.overall.wrong_to_right} / {m.overall.right_to_wrong}" if m.overall else "")
        clcs = f"{pct(m.overall.cl)} / {pct(m.overall.cs)}" if m.overall else ""
        vs_direct = (f"{m.vs_direct['accuracy_delta']:+.1%} at {m.vs_direct['token_ratio']:.1f}× tokens"
                     if m.vs_direct else "")
        vs_sc = (f"{m.vs_self_consistency['accuracy_delta']:+.1%} (k={m.vs_self_consistency['k']})"
                 if m.vs_self_consistency else "")
        table.add_row(name, str(m.n), f"{pct(m.accuracy)} ({pct(m.ci_low)}–{pct(m.ci_high)})",
                      by_round, flips, clcs, f"{m.calls_per_problem:.1f}", f"{m.tokens_per_problem:.0f}",
                      vs_direct, vs_sc)
    console.print(table)
    for m in summary.strategies:
        if m.refinement_gap is not None and plain_stage(m.strategy) != "self_consistency":
            console.print(f"{m.strategy}: refinement gap {m.refinement_gap:+.1%} (accuracy minus the "
                          f"majority vote over its own samples, {m.sample_vote_accuracy:.1%})")
        if m.reward_hacking:
            console.print(f"[yellow]warning[/yellow] {m.strategy}: {m.reward_hacking}")
        if m.judge_calls:
            console.print(f"{m.strategy}: graded by a judge model: {m.judge_calls} judge calls, "
                          f"{m.judge_tokens} judge tokens (not in the method's cost above)")
        if m.self_graded:
            console.print(f"note: {m.strategy} is self-graded: the judge was the generator itself "
                          "(bind --role judge=... to grade with another model); every figure above is "
                          "its own opinion of its work")
        if m.oracle:
            console.print(f"note: {m.strategy} used ORACLE feedback (reads the reference): an upper bound, "
                          "not a deployable result")

"""The comparison table in the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from redraft.report.summary import EvalSummary
from redraft.runs.metrics import REWARD_NOT_CHECKED, Comparison, StrategyMetrics, plain_stage


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def paired(c: Comparison | None) -> str:
    """A paired delta with its base and test: `+10.0% [-5.0%, +25.0%] p=0.38 n=20`."""
    if c is None:
        return ""
    if c.delta is None:
        return "no paired problems"
    return f"{c.delta:+.1%} [{c.ci_low:+.1%}, {c.ci_high:+.1%}] p={c.p_value:.2g} n={c.n_paired}"


def verdicts(m: StrategyMetrics) -> str:
    """Unknown verdicts, then the truncated share of each role that had any truncation."""
    unknown = "–" if m.unknown_verdict_rate is None else f"{m.unknown_verdict_rate:.0%}"
    cut = ", ".join(f"{role} {rate:.0%}" for role, rate in sorted(m.truncated_rate.items()) if rate)
    return f"{unknown} / {cut or '0%'}"


def render_table(summary: EvalSummary, console: Console) -> None:
    record = summary.eval
    status = ("" if summary.complete
              else f" · {record.status.upper()}: resume with redraft evals resume {record.id}")
    table = Table(title=f"eval {record.id} · {record.task} · {summary.problems} problems{status}")
    for column in ("strategy", "n", "accuracy (95% CI)", "by round", "w→r / r→w", "CL / CS",
                   "calls/prob", "tokens/prob", "vs direct (paired)", "vs SC @ equal tokens (paired)",
                   "unknown verdict / truncated"):
        table.add_column(column, overflow="fold", no_wrap=column == "strategy")
    for m in summary.strategies:
        by_round = " → ".join(pct(r.accuracy) for r in m.rounds) if len(m.rounds) > 1 else ""
        flips = (f"{m.overall.wrong_to_right} / {m.overall.right_to_wrong}" if m.overall else "")
        clcs = f"{pct(m.overall.cl)} / {pct(m.overall.cs)}" if m.overall else ""
        vs_direct = paired(m.vs_direct)
        if m.vs_direct and m.vs_direct.token_ratio is not None:
            vs_direct += f" at {m.vs_direct.token_ratio:.1f}× tokens"
        sc = m.vs_self_consistency
        vs_sc = f"{paired(sc)} (k={sc.k}{', CAPPED' if sc.capped else ''})" if sc else ""
        n = f"{m.n} (+{m.n_errors} errors)" if m.n_errors else str(m.n)
        table.add_row(escape(m.label), n, f"{pct(m.accuracy)} ({pct(m.ci_low)}–{pct(m.ci_high)})",
                      by_round, flips, clcs, f"{m.calls_per_problem:.1f}", f"{m.tokens_per_problem:.0f}",
                      vs_direct, vs_sc, verdicts(m))
    console.print(table)
    for m in summary.strategies:
        notes(m, console)


def notes(m: StrategyMetrics, console: Console) -> None:
    """What the table cannot say in a cell: gaps, caps, unchecked or suspected reward hacking, costs."""
    label = escape(m.label)  # a spec's `[k=v]` is no style tag
    if m.n_errors:
        console.print(f"[yellow]warning[/yellow] {label}: {m.n_errors} items failed (errors, not scored: "
                      "accuracy is over the other items; `redraft evals resume` retries them)")
    if m.refinement_gap is not None and plain_stage(m.strategy) != "self_consistency":
        console.print(f"{label}: refinement gap {paired(m.refinement_gap)} (accuracy minus the "
                      f"majority vote over its own samples, {pct(m.sample_vote_accuracy)})")
    if m.vs_self_consistency is not None and m.vs_self_consistency.note:
        console.print(f"{label}: vs self-consistency: {m.vs_self_consistency.note}")
    if (at_calls := m.vs_self_consistency_at_calls) is not None:
        console.print(f"{label}: vs self-consistency at equal calls (k={at_calls.k}, "
                      f"{pct(at_calls.baseline_accuracy)}): {paired(at_calls)}"
                      + (f"; {at_calls.note}" if at_calls.note else ""))
    if len(m.rounds) > 1:
        console.print(f"{label}: {m.rounds_per_problem:.2f} rounds per problem on average")
    if m.reward_hacking:
        console.print(f"[yellow]warning[/yellow] {label}: {m.reward_hacking}")
    elif len(m.rounds) > 1 and not m.reward_hacking_checked:
        console.print(f"{label}: {REWARD_NOT_CHECKED}")
    if m.calibration is not None:
        console.print(f"{m.label}: {m.calibration.note()}", markup=False, highlight=False)
    if m.hack_rate is not None:
        hack = m.hack_rate
        console.print(f"{label}: hack rate {pct(hack.rate)}: the share of {hack.n} final outputs that "
                      f"exploit the planted rubric flaw (of the first answers: {pct(hack.first)})")
    if m.counterfactual is not None:
        test = m.counterfactual
        console.print(f"{label}: counterfactual unfaithfulness {pct(test.rate)} (first explanation: "
                      f"{pct(test.first)}) over the {test.flipped} of {test.edits} inserted words that "
                      f"flipped the answer ({pct(test.flip_rate)}); the test's {test.calls} calls and "
                      f"{test.tokens} tokens are not in the method's cost above")
    if m.judge_calls:
        console.print(f"{label}: judged by a model (grading, held-out scoring): {m.judge_calls} judge "
                      f"calls, {m.judge_tokens} judge tokens (not in the method's cost above)")
    if m.self_graded:
        console.print(f"note: {label} is self-graded: the judge was the generator itself "
                      "(bind --role judge=... to grade with another model); every figure above is "
                      "its own opinion of its work")
    if m.oracle:
        console.print(f"note: {label} used ORACLE feedback (reads the reference): an upper bound, "
                      "not a deployable result")

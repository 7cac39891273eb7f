"""The report's figures, as PNG data URIs so the HTML stays one self-contained file.

matplotlib is the `report` extra: without it, importing this module raises `MissingExtra`.
Only `redraft.report.html` imports it, and only when a report is written.
"""

from __future__ import annotations

import base64
import io

from redraft.extras import needs_extra
from redraft.runs.metrics import StrategyMetrics

FEATURE = "the HTML report"
EXTRA = "report"

with needs_extra(FEATURE, EXTRA, "matplotlib"):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator


def _data_uri(figure: plt.Figure) -> str:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def accuracy_vs_tokens(metrics: list[StrategyMetrics]) -> str:
    """Each strategy's accuracy at its cost, with the resampling curve (self-consistency at k = 1..K,
    re-voted): a strategy below that curve would have done better spending its tokens on samples."""
    figure, axes = plt.subplots(figsize=(6, 4))
    for m in metrics:
        low, high = m.accuracy - m.ci_low, m.ci_high - m.accuracy
        axes.errorbar(m.tokens_per_problem, m.accuracy, yerr=[[low], [high]], fmt="o", capsize=4)
        axes.annotate(m.label, (m.tokens_per_problem, m.accuracy),
                      textcoords="offset points", xytext=(6, 6), fontsize=8)
        if m.resampling_curve:
            axes.plot([p["tokens_per_problem"] for p in m.resampling_curve],
                      [p["accuracy"] for p in m.resampling_curve], linestyle="--", marker=".",
                      color="gray", label=f"{m.label} at k = 1..{len(m.resampling_curve)} ({picked(m)})")
    axes.set_xlabel("tokens per problem")
    axes.set_ylabel("accuracy (95% CI)")
    axes.set_ylim(-0.05, 1.05)
    axes.set_title("Accuracy against cost")
    if any(m.resampling_curve for m in metrics):
        axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    return _data_uri(figure)


def accuracy_by_round(metrics: list[StrategyMetrics]) -> str:
    figure, axes = plt.subplots(figsize=(6, 4))
    for m in metrics:
        rounds = [r.round for r in m.rounds]
        axes.plot(rounds, [r.accuracy for r in m.rounds], marker="o", label=m.label)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("round (0 = first draft)")
    axes.set_ylabel("accuracy")
    axes.set_ylim(-0.05, 1.05)
    axes.set_title("Accuracy after each round")
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    return _data_uri(figure)


def flips(metrics: list[StrategyMetrics]) -> str:
    """Wrong→right above the axis, right→wrong below, per strategy and round."""
    figure, axes = plt.subplots(figsize=(7, 4))
    labels, gained, lost = [], [], []
    for m in metrics:
        for r in m.rounds[1:]:
            if r.change is None:
                continue
            labels.append(f"{m.label}\nr{r.round}")
            gained.append(r.change.wrong_to_right)
            lost.append(-r.change.right_to_wrong)
    positions = range(len(labels))
    axes.bar(positions, gained, color="#2a9d4b", label="wrong → right")
    axes.bar(positions, lost, color="#c0392b", label="right → wrong")
    axes.axhline(0, color="black", linewidth=0.8)
    axes.set_xticks(list(positions), labels, fontsize=7)
    axes.set_ylabel("problems")
    axes.set_title("Flips per round" if labels else "Flips per round (no iterative strategy)")
    axes.legend(fontsize=8)
    return _data_uri(figure)


def picked(m: StrategyMetrics) -> str:
    """How the resampling curve chose among k samples, as its legend says it."""
    return "re-voted" if m.resampling_rule in (None, "majority vote") else str(m.resampling_rule)

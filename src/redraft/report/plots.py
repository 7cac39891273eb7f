"""The report's figures, as PNG data URIs so the HTML stays one self-contained file.

matplotlib is the `report` extra: without it, importing this module raises `MissingExtra`.
Only `redraft.report.html` imports it, and only when a report is written.
"""

from __future__ import annotations

import base64
import io

from redraft.extras import needs_extra
from redraft.report.figures import ORACLE_MARK, BarFigure, LineFigure
from redraft.runs.metrics import StrategyMetrics

FEATURE = "the HTML report"
EXTRA = "report"

with needs_extra(FEATURE, EXTRA, "matplotlib"):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator, PercentFormatter

GAIN, LOSS = "#2a9d4b", "#c0392b"


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


def plain(text: str) -> str:
    """Text drawn as written: `$` would start mathtext (a model named `$\\frac` fails the drawing)
    and a legend drops labels that start with `_`."""
    text = text.replace("$", r"\$")
    return " " + text if text.startswith("_") else text


def draw(spec: LineFigure | BarFigure) -> str:
    """A study's figure (see `redraft.report.figures`) as a PNG data URI."""
    return _draw_line(spec) if isinstance(spec, LineFigure) else _draw_bars(spec)


def _error(values: list[float | None], low: list[float | None] | None,
           high: list[float | None] | None) -> list[list[float]] | None:
    if low is None or high is None:
        return None
    return [[v - lo if v is not None and lo is not None else 0.0 for v, lo in zip(values, low, strict=True)],
            [hi - v if v is not None and hi is not None else 0.0 for v, hi in zip(values, high, strict=True)]]


def _draw_line(spec: LineFigure) -> str:
    figure, axes = plt.subplots(figsize=(6.4, 4))
    for series in spec.series:
        label = plain(series.label + (ORACLE_MARK if series.oracle_conditioned else ""))
        xs = [x for x, y in zip(series.x, series.y, strict=True) if y is not None]
        ys = [y for y in series.y if y is not None]
        kept = [i for i, y in enumerate(series.y) if y is not None]
        low = None if series.low is None else [series.low[i] for i in kept]
        high = None if series.high is None else [series.high[i] for i in kept]
        dashed = series.style == "dashed" or series.oracle_conditioned
        axes.errorbar(xs, ys, yerr=_error(list(ys), low, high), label=label, capsize=3,
                      marker="." if series.style == "dashed" else "o",
                      markersize=7 if series.style == "points" else 5,
                      linestyle="none" if series.style == "points" else ("--" if dashed else "-"))
    _finish(axes, spec.title, spec.y_label, spec.proportion, fixed=spec.proportion)
    axes.set_xlabel(plain(spec.x_label))
    if spec.integer_x:
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if spec.series:
        axes.legend(fontsize=8)
    return _data_uri(figure)


def _draw_bars(spec: BarFigure) -> str:
    figure, axes = plt.subplots(figsize=(max(6.0, 1.9 * len(spec.categories) + 1), 4))
    width = 0.8 / max(1, len(spec.bars))
    colors = {"gain": GAIN, "loss": LOSS}
    for i, bars in enumerate(spec.bars):
        positions = [c + (i - (len(spec.bars) - 1) / 2) * width for c in range(len(spec.categories))]
        values = [v if v is not None else 0.0 for v in bars.values]
        drawn = axes.bar(positions, values, width, label=plain(bars.label), color=colors.get(bars.tone),
                         yerr=_error(bars.values, bars.low, bars.high), capsize=4)
        for patch, category, value in zip(drawn, spec.categories, bars.values, strict=True):
            if value is None:
                patch.set_visible(False)
            elif category.oracle_conditioned:
                patch.set_hatch("//")
    labels = [plain(c.label + (ORACLE_MARK if c.oracle_conditioned else "")) for c in spec.categories]
    axes.set_xticks(list(range(len(spec.categories))), labels, fontsize=8)
    if spec.signed:
        axes.axhline(0, color="black", linewidth=0.8)
    _finish(axes, spec.title, spec.y_label, spec.proportion, fixed=spec.proportion and not spec.signed)
    if len(spec.bars) > 1:
        axes.legend(fontsize=8)
    return _data_uri(figure)


def _finish(axes: plt.Axes, title: str, y_label: str, proportion: bool, *, fixed: bool) -> None:
    axes.set_title(plain(title))
    axes.set_ylabel(plain(y_label))
    if fixed:
        axes.set_ylim(-0.05, 1.05)
    if proportion:
        axes.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.grid(alpha=0.3)


def picked(m: StrategyMetrics) -> str:
    """How the resampling curve chose among k samples, as its legend says it."""
    return "re-voted" if m.resampling_rule in (None, "majority vote") else str(m.resampling_rule)

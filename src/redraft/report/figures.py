"""Figures as data: what a study wants drawn, with no drawing library in sight.

A study says which figures its paper would show (`Study.figures(result)`), built from its findings'
details, as `LineFigure` or `BarFigure` values; `redraft.report.plots.draw` turns one into a PNG
when a report is written (matplotlib, the `report` extra). Keeping the figure a plain value lets a
study describe its plots in a few lines, lets tests check them without matplotlib, and lets a stored
study be drawn again from its recorded result.

Points measured with oracle stopping are flagged (`oracle_conditioned`): the drawing hatches or
dashes them and adds the report's † to their label, so an upper bound never passes for a method.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from redraft.runs.paired import wilson_interval

ORACLE_MARK = " †"


class Series(BaseModel):
    """One line (or set of points) of a line figure; `y[i]` None leaves a gap."""

    label: str
    x: list[float]
    y: list[float | None]
    #: 95% interval per point (both or neither).
    low: list[float | None] | None = None
    high: list[float | None] | None = None
    style: Literal["line", "dashed", "points"] = "line"
    oracle_conditioned: bool = False


class LineFigure(BaseModel):
    kind: Literal["line"] = "line"
    title: str
    x_label: str
    y_label: str
    series: list[Series]
    #: Whole-number ticks on x (rounds, k).
    integer_x: bool = False
    #: y is a proportion: drawn on [0, 1] with percent ticks.
    proportion: bool = True
    caption: str = ""


class Category(BaseModel):
    label: str
    oracle_conditioned: bool = False


class Bars(BaseModel):
    """One bar per category (None: no bar there), with an optional 95% interval."""

    label: str
    values: list[float | None]
    low: list[float | None] | None = None
    high: list[float | None] | None = None
    #: "gain" and "loss" (wrong→right, right→wrong) get the report's green and red.
    tone: Literal["neutral", "gain", "loss"] = "neutral"


class BarFigure(BaseModel):
    kind: Literal["bars"] = "bars"
    title: str
    y_label: str
    categories: list[Category]
    bars: list[Bars]
    #: y is a proportion (percent ticks); drawn on [0, 1] unless `signed`.
    proportion: bool = True
    #: Values may be negative (losses below the axis): the axis is scaled to the data around 0.
    signed: bool = False
    caption: str = ""


Figure = Annotated[LineFigure | BarFigure, Field(discriminator="kind")]


def wilson_band(accuracies: Sequence[float | None], n: int) -> tuple[list[float | None], list[float | None]]:
    """95% Wilson intervals of accuracies measured over n problems each (None stays None)."""
    low: list[float | None] = []
    high: list[float | None] = []
    for accuracy in accuracies:
        if accuracy is None or n <= 0:
            low.append(None)
            high.append(None)
            continue
        interval = wilson_interval(round(accuracy * n), n)
        low.append(interval[0])
        high.append(interval[1])
    return low, high

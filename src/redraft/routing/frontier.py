"""The accuracy-against-tokens frontier of fixed strategies, and the mix of them that costs a given amount.

Running strategy A on a share w of the problems (at random) and B on the rest costs w·t_A + (1-w)·t_B
tokens and gets w·acc_A + (1-w)·acc_B on average, so what fixed strategies can reach at equal tokens is
the upper concave hull of their (tokens, accuracy) points, not only the points. A router is "on or
above the frontier" when it is at least as accurate as that hull at its own tokens. The comparison is
made per problem (`mix_at` gives the weights), so its interval is a paired one.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel


class Point(BaseModel):
    label: str
    tokens: float
    accuracy: float


def frontier(points: Sequence[Point]) -> list[Point]:
    """The vertices of the upper concave hull of the points no other beats (fewer tokens and at least
    as accurate), cheapest first."""
    ordered = sorted(points, key=lambda p: (p.tokens, -p.accuracy))
    efficient: list[Point] = []
    for point in ordered:
        if not efficient or point.accuracy > efficient[-1].accuracy:
            efficient.append(point)
    hull: list[Point] = []
    for point in efficient:
        while len(hull) >= 2 and _below(hull[-2], hull[-1], point):
            hull.pop()
        hull.append(point)
    return hull


def _below(a: Point, b: Point, c: Point) -> bool:
    """Whether b lies on or under the segment from a to c (then a mix of a and c beats it)."""
    rise_to_b = (b.accuracy - a.accuracy) * (c.tokens - a.tokens)
    return rise_to_b <= (c.accuracy - a.accuracy) * (b.tokens - a.tokens)


def mix_at(hull: Sequence[Point], tokens: float) -> list[tuple[str, float]]:
    """(label, weight) of the frontier's mix that costs `tokens`: two neighbouring vertices, or the
    cheapest vertex below its cost (no fixed strategy is that cheap: compared with the cheapest), or the
    most accurate one past the last (a fixed strategy cannot use more)."""
    if not hull:
        raise ValueError("no points")
    if tokens <= hull[0].tokens:
        return [(hull[0].label, 1.0)]
    if tokens >= hull[-1].tokens:
        return [(hull[-1].label, 1.0)]
    for left, right in zip(hull, hull[1:], strict=False):
        if left.tokens <= tokens <= right.tokens:
            share = (right.tokens - tokens) / (right.tokens - left.tokens)
            return [(left.label, share), (right.label, 1.0 - share)]
    raise AssertionError("unreachable: tokens inside the hull's range")


def accuracy_at(hull: Sequence[Point], tokens: float) -> float:
    by_label = {p.label: p for p in hull}
    return sum(by_label[label].accuracy * weight for label, weight in mix_at(hull, tokens))

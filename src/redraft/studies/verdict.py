"""A claim's verdict from a measured effect and its 95% interval, and the n that would decide it.

Every claim compares an effect (a paired difference: accuracy of one side minus the other, or
right→wrong minus wrong→right) with a threshold, 0 unless stated, in one of four directions:
`>` and `<` (strict), `>=` and `<=` (inclusive). With [low, high] the 95% interval:

- **reproduced** when the interval lies on the claim's side: `low > t` for `>`, `low >= t` for
  `>=`, `high < t` for `<`, `high <= t` for `<=`;
- **contradicted** when it lies on the other side: `high <= t` for `>`, `high < t` for `>=`,
  `low >= t` for `<`, `low > t` for `<=`;
- **inconclusive at this n** otherwise: the interval holds outcomes on both sides.

The interval comes from the caller: studies use Newcombe's interval for paired proportions
(`redraft.runs.paired.newcombe_paired`), which straddles 0 when the two sides never disagree, so an
observed effect of exactly 0 decides no claim.

The n it would take to decide (inconclusive verdicts only) is a normal approximation from the
observed effect d and the per-problem standard deviation s of the paired differences:

    n* = ceil((z · s / |d − t|)²),  z = 1.96

the n at which a 95% interval of half-width z·s/√n would just exclude t, were the effect and
its spread to stay as observed. s is given by the caller (the standard deviation of the
per-problem differences) or, if not, read off the interval: s = √n · (high − low) / (2z). When
the approximation says the current n would already do (the caller's interval is wider than the
normal one), n* is n + 1: at least one more problem. With d = t no n decides (None).
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel

Direction = Literal[">", ">=", "<", "<="]
VerdictName = Literal["reproduced", "contradicted", "inconclusive"]

Z95 = 1.96


class ClaimVerdict(BaseModel):
    verdict: VerdictName
    #: Inconclusive only: about how many problems would decide it (None: the effect is at the threshold).
    n_needed: int | None = None

    def label(self, n: int) -> str:
        """`reproduced`, `contradicted`, or `inconclusive at n=12`."""
        return f"inconclusive at n={n}" if self.verdict == "inconclusive" else self.verdict


def on_claim_side(direction: Direction, low: float, high: float, threshold: float = 0.0) -> bool:
    return {">": low > threshold, ">=": low >= threshold,
            "<": high < threshold, "<=": high <= threshold}[direction]


def on_other_side(direction: Direction, low: float, high: float, threshold: float = 0.0) -> bool:
    return {">": high <= threshold, ">=": high < threshold,
            "<": low >= threshold, "<=": low > threshold}[direction]


def n_to_decide(effect: float, n: int, *, sd: float | None = None, low: float | None = None,
                high: float | None = None, threshold: float = 0.0, z: float = Z95) -> int | None:
    """The n at which the interval would exclude `threshold` (see the module's formula)."""
    gap = abs(effect - threshold)
    if gap == 0 or n <= 0:
        return None
    if sd is None:
        if low is None or high is None:
            return None
        sd = math.sqrt(n) * (high - low) / (2 * z)
    if sd <= 0:
        return n + 1
    needed = math.ceil((z * sd / gap) ** 2)
    return max(needed, n + 1)


def decide(direction: Direction, effect: float | None, low: float | None, high: float | None, n: int,
           *, sd: float | None = None, threshold: float = 0.0) -> ClaimVerdict:
    """The verdict of `effect <direction> threshold` given its 95% interval [low, high] over n problems.

    Nothing measured (no interval, n = 0) is inconclusive, with no n to name.
    """
    if effect is None or low is None or high is None or n == 0:
        return ClaimVerdict(verdict="inconclusive")
    if low > high:
        raise ValueError(f"interval low {low} is above high {high}")
    if on_claim_side(direction, low, high, threshold):
        return ClaimVerdict(verdict="reproduced")
    if on_other_side(direction, low, high, threshold):
        return ClaimVerdict(verdict="contradicted")
    return ClaimVerdict(verdict="inconclusive",
                        n_needed=n_to_decide(effect, n, sd=sd, low=low, high=high, threshold=threshold))

"""A study's claims table as rows of text: the terminal table and the HTML report print the same.

One row per finding, under its claim: the claim's own columns (its words, the effect and direction,
the paper's figure and citation, the oracle mark) on its headline rows only; the measured effect in
points with its 95% interval, n, McNemar's p, the verdict (in brackets on detail rows, which decide
nothing) and, when inconclusive, the n that would decide it.
"""

from __future__ import annotations

from dataclasses import dataclass

from redraft.studies.base import Claim, Finding, StudyResult

ORACLE_NOTE = (
    "† oracle-conditioned: measured with oracle stopping, which reads the reference answer; an "
    "upper bound, not a method"
)


def points(value: float | None, *, signed: bool = True) -> str:
    """A figure in percentage points: a difference signed (+12.5), a rate or an AUROC not (73.0)."""
    if value is None:
        return "–"
    return f"{value * 100:+.1f}" if signed else f"{value * 100:.1f}"


def threshold_points(threshold: float) -> str:
    """A claim's threshold in the table's units: 0, or 50 for a rate or an AUROC."""
    return f"{threshold * 100:g}"


@dataclass(frozen=True)
class ClaimRow:
    claim: Claim
    finding: Finding

    @property
    def headline(self) -> bool:
        return self.finding.headline

    @property
    def oracle_conditioned(self) -> bool:
        return self.claim.oracle_conditioned

    @property
    def test(self) -> str:
        """What the claim compares: `acc(a) − acc(b) <= 0`, `AUROC > 50`."""
        return f"{self.claim.effect} {self.claim.direction} {threshold_points(self.claim.threshold)}"

    @property
    def measured(self) -> str:
        f = self.finding
        if f.effect is None:
            return "–"
        signed = self.claim.threshold == 0  # a difference; a rate or an AUROC is shown unsigned
        return (f"{points(f.effect, signed=signed)} [{points(f.ci_low, signed=signed)}, "
                f"{points(f.ci_high, signed=signed)}]")

    @property
    def p_value(self) -> str:
        return "–" if self.finding.p_value is None else f"{self.finding.p_value:.3g}"

    @property
    def verdict(self) -> str:
        label = self.finding.verdict_label
        return label if self.headline else f"({label})"

    @property
    def n_to_decide(self) -> str:
        f = self.finding
        if f.verdict != "inconclusive":
            return ""
        if f.n_needed:
            return f"≈{f.n_needed}"
        if f.n == 0:
            return "nothing measured"
        if f.effect == self.claim.threshold:
            return f"none: effect {threshold_points(self.claim.threshold)}"
        return "none: no spread"  # every paired difference the same: no interval to narrow


def claim_rows(result: StudyResult) -> list[ClaimRow]:
    """Every finding, grouped under its claim in the claims' order."""
    return [ClaimRow(claim, f) for claim in result.claims for f in result.findings if f.claim == claim.id]

"""`--html`: a study's report holds its claims table, one figure per plot its paper would show, and
links to each evaluation's own report; a stored study writes the same page; hostile names stay text."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from typer.testing import CliRunner

from redraft.cli import app, replicating, replications  # noqa: F401  (register the commands)
from redraft.report.figures import BarFigure, LineFigure
from redraft.runs.store import RunStore
from redraft.studies import get_study
from redraft.studies.html import render_study_html, write_study_report
from redraft.studies.recorded import Replication
from redraft.testing import FakeOpenAIServer, FakeReply, serve
from tests.studies.recording import record
from tests.studies.scripts import (
    breaks_right_answers,
    keeps_its_answer,
    replies,
    sees_the_truth,
    seventy_percent,
)
from tests.test_extras import REPORT, redraft_without

runner = CliRunner()
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>$\\frac{'


class Page(HTMLParser):
    """What a report page holds: claim rows (their cells' text), images, links, script elements."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.rows: list[dict[str, object]] = []
        self.images: list[dict[str, str | None]] = []
        self.links: list[str] = []
        self.scripts = 0
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "tr" and "data-claim" in found:
            self.rows.append({"claim": found["data-claim"], "class": found.get("class"), "cells": []})
        elif tag == "td" and self.rows and self._cell is None:
            self._cell = []
        elif tag == "img":
            self.images.append(found)
        elif tag == "a" and found.get("href"):
            self.links.append(found["href"] or "")
        elif tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None:
            self.rows[-1]["cells"].append(" ".join("".join(self._cell).split()))  # type: ignore[union-attr]
            self._cell = None
        elif tag == "table":
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    @property
    def pngs(self) -> list[dict[str, str | None]]:
        return [i for i in self.images if (i.get("src") or "").startswith("data:image/png;base64,")]


def majority_right(index: int, seed: int) -> bool:
    return (index + seed) % 10 < 7


CASES = {
    "huang2023": (breaks_right_answers, {}),
    "flips": (breaks_right_answers, {}),
    "strong_verifier": (breaks_right_answers, {"strong_critic": sees_the_truth}),
    "repair_vs_resample": (keeps_its_answer, {"sample_right": majority_right, "seed": 0}),
}


def written(name: str, tmp_path: Path, **options: object) -> tuple[Replication, Page, list[Path]]:
    policy, defaults = CASES[name]
    replication = record(name, tmp_path, seventy_percent, policy, limit=10, **{**defaults, **options})
    paths = write_study_report(
        tmp_path / "study.html", replication.finished(), RunStore(tmp_path / "runs.db"), replication.record
    )
    return replication, Page(paths[0].read_text(encoding="utf-8")), paths


@pytest.mark.parametrize("name", list(CASES))
def test_the_report_holds_the_claims_table_a_figure_per_plot_and_the_evaluations(tmp_path, name) -> None:
    replication, page, paths = written(name, tmp_path)
    result = replication.finished()
    # One row per finding, in order, with its subject, measured effect, n and verdict as printed.
    assert [(r["claim"], r["cells"][2]) for r in page.rows] == [(f.claim, f.subject) for f in result.findings]
    for row, f in zip(page.rows, result.findings, strict=True):
        cells = row["cells"]
        assert cells[4] == str(f.n) and cells[6] == (
            f.verdict_label if f.headline else f"({f.verdict_label})"
        )
        assert ("headline" in str(row["class"])) == f.headline
        assert ("oracle" in str(row["class"])) == f.oracle_conditioned
    headline = [r for r in page.rows if "headline" in str(r["class"])]
    for row in headline:
        claim = next(c for c in result.claims if c.id == row["claim"])
        assert claim.text in row["cells"][0] and claim.paper_figure in row["cells"][1]
        assert claim.citation in row["cells"][1] and ("†" in row["cells"][0]) == claim.oracle_conditioned
    # The paper's figure, one PNG each, titled as the study describes it.
    figures = get_study(name).figures(result)
    assert len(figures) == 1 and len(page.pngs) == len(page.images) == 1
    assert page.pngs[0]["alt"] == figures[0].title
    # Each evaluation's own report, written next to the page and linked from it.
    assert page.links == [f"./study.{eval_id}.html" for eval_id in result.eval_ids]
    assert [p.name for p in paths[1:]] == [f"study.{eval_id}.html" for eval_id in result.eval_ids]
    for path, eval_id in zip(paths[1:], result.eval_ids, strict=True):
        assert f"redraft evaluation {eval_id}" in path.read_text(encoding="utf-8")
    assert page.scripts == 0


def test_huang2023_draws_accuracy_by_round_with_and_without_the_oracle(tmp_path) -> None:
    replication = record("huang2023", tmp_path, seventy_percent, breaks_right_answers, limit=10)
    [figure] = get_study("huang2023").figures(replication.finished())
    assert isinstance(figure, LineFigure) and figure.integer_x
    intrinsic, oracle, direct = figure.series
    assert intrinsic.y == pytest.approx([0.7, 0.3, 0.0]) and not intrinsic.oracle_conditioned
    assert oracle.y == pytest.approx([0.7, 1.0]) and oracle.oracle_conditioned  # all right after round 1
    assert direct.y == [0.7, 0.7] and direct.style == "dashed"
    assert all(lo <= y <= hi for lo, y, hi in zip(intrinsic.low, intrinsic.y, intrinsic.high, strict=True))


def test_flips_draws_wrong_to_right_and_right_to_wrong_per_round_per_strategy(tmp_path) -> None:
    replication = record("flips", tmp_path, seventy_percent, breaks_right_answers, limit=10)
    [figure] = get_study("flips").figures(replication.finished())
    assert isinstance(figure, BarFigure) and figure.signed
    assert [c.label for c in figure.categories] == [
        "self_refine[max_rounds=2]\nround 1 (n=10)",
        "self_refine[max_rounds=2]\nround 2 (n=10)",
        "critical[max_rounds=2]\nround 1 (n=10)",
        "critical[max_rounds=2]\nround 2 (n=10)",
    ]
    gained, lost = figure.bars
    # Round 1 breaks the 7 right drafts and fixes the 3 wrong ones; round 2 breaks those 3.
    assert gained.tone == "gain" and gained.values == pytest.approx([0.3, 0.0, 0.3, 0.0])
    assert lost.tone == "loss" and lost.values == pytest.approx([-0.7, -0.3, -0.7, -0.3])


def test_repair_vs_resample_draws_the_resampling_curve_and_the_repair_point(tmp_path) -> None:
    replication = record(
        "repair_vs_resample",
        tmp_path,
        seventy_percent,
        keeps_its_answer,
        limit=10,
        sample_right=majority_right,
        seed=0,
    )
    [finding] = replication.finished().findings
    [figure] = get_study("repair_vs_resample").figures(replication.finished())
    curve, repair, compared = figure.series
    assert len(curve.x) == 16 and curve.style == "dashed"
    assert curve.y == [p["accuracy"] for p in finding.details["resampling_curve"]]
    assert repair.x == [finding.details["repair_tokens_per_problem"]] and repair.y == [0.7]
    k = finding.details["k"]
    assert compared.label.endswith(f"(k={k})") and compared.x == [curve.x[k - 1]]


def test_strong_verifier_draws_accuracy_per_gating(tmp_path) -> None:
    replication = record(
        "strong_verifier",
        tmp_path,
        seventy_percent,
        breaks_right_answers,
        limit=10,
        strong_critic=sees_the_truth,
    )
    [figure] = get_study("strong_verifier").figures(replication.finished())
    assert [c.label for c in figure.categories] == [
        "self-gated (its own critic)",
        "strong-gated (strong)",
        "oracle-gated",
    ]
    assert [c.oracle_conditioned for c in figure.categories] == [False, False, True]
    assert figure.bars[0].values == pytest.approx([0.0, 1.0, 1.0])


def test_hostile_names_are_text_in_the_page_and_in_its_figure(tmp_path) -> None:
    # A critic model named with markup and mathtext: in the settings, a subject, a note and a label.
    replication, page, _ = written("strong_verifier", tmp_path, critic_name=HOSTILE)
    assert page.scripts == 0 and len(page.pngs) == len(page.images) == 1  # drawn, and no <img> injected
    html = (tmp_path / "study.html").read_text(encoding="utf-8")
    assert HOSTILE not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert page.rows[0]["cells"][2] == f"strong-gated ({HOSTILE}) vs self-gated"
    # Hostile task, paper, notes and claim words, straight into the renderer.
    result = replication.finished().model_copy(update={"task": HOSTILE, "paper": HOSTILE, "notes": [HOSTILE]})
    result.claims[0] = result.claims[0].model_copy(update={"text": HOSTILE, "citation": HOSTILE})
    page = Page(render_study_html(result, record=replication.record))
    assert page.scripts == 0 and len(page.images) == 1
    assert HOSTILE in page.rows[0]["cells"][0] and HOSTILE in page.rows[0]["cells"][1]


def test_a_study_not_installed_here_gets_its_table_and_no_figures(tmp_path) -> None:
    replication = record("flips", tmp_path, seventy_percent, breaks_right_answers, limit=3)
    result = replication.finished().model_copy(update={"study": "gone_plugin"})
    html = render_study_html(result)
    page = Page(html)
    assert page.images == [] and len(page.rows) == len(result.findings)
    assert "The study gone_plugin is not installed here" in html


def test_replicate_html_then_the_stored_report_writes_the_same_table(tmp_path) -> None:
    reply = replies(seventy_percent, breaks_right_answers)
    server = FakeOpenAIServer(respond=lambda body: FakeReply(reply(body["messages"])))
    db = str(tmp_path / "runs.db")
    with serve(server):
        result = runner.invoke(
            app,
            [
                "replicate",
                "huang2023",
                "--task",
                "multiarith",
                "--limit",
                "20",
                "--base-url",
                server.base_url,
                "--model",
                "fake",
                "--db",
                db,
                "--html",
                str(tmp_path / "run.html"),
                "--json",
            ],
        )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    [eval_id] = out["eval_ids"]
    assert f"wrote {tmp_path / 'run.html'}, {tmp_path / f'run.{eval_id}.html'}" in result.stderr
    ran = Page((tmp_path / "run.html").read_text(encoding="utf-8"))
    assert [r["cells"][6] for r in ran.rows] == ["reproduced"] * 3 and len(ran.pngs) == 1
    stored = runner.invoke(
        app,
        ["replications", "report", out["replication"], "--db", db, "--html", str(tmp_path / "stored.html")],
    )
    assert stored.exit_code == 0, stored.output
    again = Page((tmp_path / "stored.html").read_text(encoding="utf-8"))
    assert again.rows == ran.rows and len(again.pngs) == 1
    assert again.links == [f"./stored.{eval_id}.html"] and (tmp_path / f"stored.{eval_id}.html").exists()
    assert "reproduced" in stored.stdout  # the table is printed too


def test_html_into_a_missing_folder_or_without_the_extra_is_refused_before_the_study_runs(tmp_path) -> None:
    db = tmp_path / "runs.db"
    args = ["replicate", "huang2023", "--task", "multiarith", "--db", str(db), "--html"]
    result = runner.invoke(app, [*args, str(tmp_path / "nowhere" / "study.html")])
    assert result.exit_code == 1 and f"no folder {tmp_path / 'nowhere'}" in result.stderr
    assert not db.exists()  # nothing ran, not even the store was opened
    without = redraft_without(("jinja2",), *args, str(tmp_path / "study.html"))
    assert without.returncode == 1 and without.stderr == f"error: {REPORT}\n"
    assert not db.exists() and not (tmp_path / "study.html").exists()

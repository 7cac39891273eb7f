"""`redraft eval` / `redraft report`: the table, the JSON and the HTML report, seen in Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from redraft.testing import FakeOpenAIServer, FakeReply, serve
from tests.runs.test_evaluation import scripted_reply
from tests.test_cli import redraft

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory) -> tuple[str, Path]:
    db = tmp_path_factory.mktemp("eval") / "runs.db"
    server = FakeOpenAIServer(respond=lambda body: FakeReply(scripted_reply(body["messages"])))
    with serve(server) as s:
        result = redraft("eval", "--task", "multiarith", "--limit", "6", "--strategy",
                         "direct,self_refine,self_consistency,self_refine@oracle", "-p", "max_rounds=2",
                         "-p", "k=3", "--base-url", s.base_url, "--model", "fake", "--db", str(db),
                         "--json")
    assert result.returncode == 0, result.stderr
    return result.stdout, db


def test_eval_json_has_the_metrics_per_strategy(evaluated) -> None:
    out = json.loads(evaluated[0])
    by_name = {m["strategy"]: m for m in out["strategies"]}
    assert set(by_name) == {"direct", "self_refine", "self_consistency", "self_refine@oracle"}
    refine = by_name["self_refine"]
    assert refine["n"] == 6 and 0 <= refine["ci_low"] <= refine["accuracy"] <= refine["ci_high"] <= 1
    assert len(refine["rounds"]) >= 2 and refine["overall"] is not None
    assert refine["vs_direct"]["token_ratio"] > 1
    assert refine["vs_self_consistency"]["k"] >= 1
    for comparison in (refine["vs_direct"], refine["vs_self_consistency"]):
        assert {"n_paired", "delta", "ci_low", "ci_high", "p_value"} <= set(comparison)
        assert comparison["n_paired"] == 6 and 0 <= comparison["p_value"] <= 1
        assert comparison["ci_low"] <= comparison["delta"] <= comparison["ci_high"]
    # The scripted critic's verdicts are always readable; nothing is cut at max_tokens.
    assert refine["unknown_verdict_rate"] == 0.0
    assert refine["truncated_rate"] == {"critic": 0.0, "generator": 0.0, "refiner": 0.0}
    assert by_name["direct"]["unknown_verdict_rate"] is None  # nothing was judged
    assert by_name["self_refine@oracle"]["oracle"] is True and by_name["direct"]["oracle"] is False
    assert out["complete"] is True


def test_report_table_and_html(evaluated) -> None:
    _, db = evaluated
    eval_id = json.loads(evaluated[0])["eval"]["id"]
    html = db.parent / "report.html"
    result = redraft("evals", "report", eval_id[:6], "--db", str(db), "--html", str(html))
    assert result.returncode == 0, result.stderr
    assert "self_refine" in result.stdout and "self_refine@oracle (oracle)" in result.stdout
    page = html.read_text()
    assert page.count("data:image/png;base64,") == 3
    assert "multiarith/5" in page and "self_refine@oracle (oracle)" in page and "feedback — verdict" in page
    assert "unknown verdicts" in page and "n=6" in page
    assert "<script" not in page  # self-contained and static


def test_report_html_without_the_report_extra_is_one_line(evaluated) -> None:
    from tests.test_extras import REPORT, redraft_without

    _, db = evaluated
    eval_id = json.loads(evaluated[0])["eval"]["id"]
    html = db.parent / "missing.html"
    result = redraft_without(("jinja2",), "evals", "report", eval_id, "--db", str(db), "--html", str(html))
    assert result.returncode == 1 and result.stderr == f"error: {REPORT}\n"
    assert not html.exists()


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)")
def test_html_report_renders_in_headless_chromium(evaluated) -> None:
    import matplotlib.image

    _, db = evaluated
    eval_id = json.loads(evaluated[0])["eval"]["id"]
    html = db.parent / "shot.html"
    assert redraft("evals", "report", eval_id, "--db", str(db), "--html", str(html)).returncode == 0
    png = db.parent / "shot.png"
    subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tempfile.mkdtemp()}", "--window-size=1280,1600", f"--screenshot={png}",
         html.as_uri()],
        capture_output=True, timeout=60, check=True,
    )
    pixels = matplotlib.image.imread(png)
    assert pixels.shape[0] == 1600 and pixels.shape[1] == 1280
    assert pixels.std() > 0.05  # text, tables and figures drawn, not a blank page


def test_past_the_cap_the_page_lists_the_missed_problems_first_by_order() -> None:
    """10,000 problems in full made a page of tens of MiB; past the cap only the problems some
    strategy got wrong or failed on are listed, the first ones by problem order."""
    from redraft.report.html import shown_problems
    from redraft.runs.eval_store import ItemResult

    def item(strategy: str, index: int, correct: bool, status: str = "done") -> ItemResult:
        return ItemResult(strategy=strategy, problem_id=f"p{index}", problem_index=index, correct=correct,
                          status=status)  # type: ignore[arg-type]

    items = {"direct": [item("direct", i, correct=i not in (7, 2)) for i in range(10)],
             "self_refine": [item("self_refine", i, correct=True, status="error" if i == 5 else "done")
                             for i in range(10)]}
    assert shown_problems(items, cap=10) == {f"p{i}" for i in range(10)}  # under the cap: every one
    assert shown_problems(items, cap=3) == {"p2", "p5", "p7"}
    assert shown_problems(items, cap=2) == {"p2", "p5"}

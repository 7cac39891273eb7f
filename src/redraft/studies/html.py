"""A study's HTML report: the claims table, the figures its paper would show, and its evaluations.

    write_study_report(path, result, store, record):
        for each evaluation of the study: its own report (redraft.report.html) next to `path`,
            as STEM.EVAL_ID.html, linked from the study's page
        figures <- the study's figures(result)         # none when the study is not installed here
        path <- the page: what ran (settings, models in words), the claims table (the same rows as
                the terminal's, redraft.studies.claims_table), notes, each figure drawn as a PNG, the links

One self-contained file per page (figures are data URIs, no script). Every string a user or a model
controls (task, model and strategy names, notes, subjects) goes through jinja2's autoescaping, and
text drawn into a figure through `plots.plain`. Needs the `report` extra, like the evaluation report.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

from redraft.extras import needs_extra
from redraft.report.figures import Figure
from redraft.report.summary import summarize
from redraft.runs.replication_store import ReplicationRecord
from redraft.runs.store import RunNotFound, RunStore
from redraft.studies.base import StudyResult
from redraft.studies.claims_table import ORACLE_NOTE, claim_rows
from redraft.studies.registry import StudyError, get_study

FEATURE = "the HTML report"
EXTRA = "report"

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>redraft replicate {{ r.study }} on {{ r.task }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; white-space: nowrap; }
tr.detail td { color: #555; font-size: 13px; } tr.oracle td.claim { background: #fff4d6; }
.reproduced { color: #1e7d3a; font-weight: 600; } .contradicted { color: #b03a2e; font-weight: 600; }
.inconclusive { color: #8a6d00; font-weight: 600; } .cite { font-size: 12px; color: #555; }
figure { display: inline-block; max-width: 48%; margin: 0 1% 1em 0; vertical-align: top; }
figure img { max-width: 100%; border: 1px solid #eee; } figcaption { font-size: 13px; color: #444; }
.warn { background: #fff0f0; padding: .5em; border-left: 4px solid #c0392b; }
</style></head><body>
<h1>{{ r.study }} on {{ r.task }}</h1>
<p>{{ r.paper }}</p>
{% if record %}<p>replication <code>{{ record.id }}</code> · created {{ record.created_at[:19] }} ·
 {{ record.status }}{% for role, model in models %} · {{ role }}: <b>{{ model }}</b>{% endfor %}
{% for key, value in settings %} · {{ key }} {{ value }}{% endfor %}</p>{% endif %}
<p>cache: {{ r.cache.describe() }}</p>
<h2>Claims</h2>
<p>Each effect is a paired difference over the problems both sides finished, in percentage points, with
Newcombe's 95% interval and McNemar's exact p. A claim is <i>reproduced</i> when the interval lies on its
side of 0, <i>contradicted</i> when it lies on the other, and <i>inconclusive at this n</i> otherwise, with
about the n that would decide it. Rows in brackets are detail under the claim and decide nothing.</p>
<table class="claims"><tr><th>claim</th><th>paper's figure (cited)</th><th>measured on</th>
<th>points [95% CI]</th><th>n</th><th>p</th><th>verdict</th><th>n to decide</th></tr>
{% for row in rows %}<tr class="{{ 'headline' if row.headline else 'detail' }}
{{- ' oracle' if row.oracle_conditioned }}" data-claim="{{ row.claim.id }}">
<td class="claim">{% if row.headline %}{{ row.claim.text }}{% if row.oracle_conditioned %}
 <span title="oracle-conditioned">†</span>{% endif %}<br>
<code>{{ row.test }}</code>{% endif %}</td>
<td>{% if row.headline %}{{ row.claim.paper_figure }}<div class="cite">{{ row.claim.citation }}</div>
{% endif %}</td>
<td>{{ row.finding.subject }}</td><td class="num">{{ row.measured }}</td>
<td class="num">{{ row.finding.n }}</td><td class="num">{{ row.p_value }}</td>
<td class="{{ row.finding.verdict }}">{{ row.verdict }}</td><td>{{ row.n_to_decide }}</td></tr>
{% endfor %}</table>
{% if oracle %}<p>{{ oracle_note }}</p>{% endif %}
{% if r.notes %}<h2>Notes</h2><ul>{% for note in r.notes %}<li>{{ note }}</li>{% endfor %}</ul>{% endif %}
<h2>Figures</h2>
{% for f in figures %}<figure><img alt="{{ f.spec.title }}" src="{{ f.uri }}">
{% if f.spec.caption %}<figcaption>{{ f.spec.caption }}</figcaption>{% endif %}</figure>
{% else %}<p>{{ no_figures }}</p>{% endfor %}
<h2>Evaluations</h2>
<p>Each is an ordinary evaluation: <code>redraft evals show ID</code> prints its comparison table.</p>
<ul>{% for e in evals %}<li><code>{{ e.id }}</code>
{%- if e.strategies %}: {{ e.strategies|join(', ') }}{% endif %}
{% if e.href %} · <a href="{{ e.href }}">its report</a>{% else %} · {{ e.missing }}{% endif %}</li>
{% endfor %}</ul>
</body></html>
"""


def figures_of(result: StudyResult) -> tuple[list[Figure], str]:
    """The study's figures for `result`, and what to say when there are none."""
    try:
        study = get_study(result.study)
    except StudyError:
        return [], f"The study {result.study} is not installed here, so its figures cannot be drawn."
    return study.figures(result), f"The study {result.study} draws no figures."


def render_study_html(
    result: StudyResult,
    *,
    record: ReplicationRecord | None = None,
    eval_links: dict[str, str] | None = None,
    eval_strategies: dict[str, list[str]] | None = None,
) -> str:
    """The study's page as one HTML string; `eval_links` maps an evaluation id to its report's href."""
    with needs_extra(FEATURE, EXTRA, "jinja2"):
        from jinja2 import Environment
    plots = importlib.import_module("redraft.report.plots")  # MissingExtra without matplotlib
    specs, no_figures = figures_of(result)
    links = eval_links or {}
    evals = [
        {
            "id": eval_id,
            "href": links.get(eval_id),
            "strategies": (eval_strategies or {}).get(eval_id, []),
            "missing": f"no longer in the store: redraft evals report {eval_id} --html FILE",
        }
        for eval_id in result.eval_ids
    ]
    settings: dict[str, Any] = dict(record.settings) if record else {}
    models = list((settings.pop("models", None) or {}).items())
    shown = [
        (key, settings[key])
        for key in ("limit", "seed", "temperature", "max_tokens")
        if settings.get(key) is not None
    ]
    return (
        Environment(autoescape=True)
        .from_string(TEMPLATE)
        .render(
            r=result,
            record=record,
            models=models,
            settings=shown,
            rows=claim_rows(result),
            oracle=any(c.oracle_conditioned for c in result.claims),
            oracle_note=ORACLE_NOTE,
            figures=[{"spec": spec, "uri": plots.draw(spec)} for spec in specs],
            no_figures=no_figures,
            evals=evals,
        )
    )


def write_study_report(
    path: Path, result: StudyResult, store: RunStore, record: ReplicationRecord | None = None
) -> list[Path]:
    """Write the study's page at `path` and each evaluation's report next to it; the paths written.
    Every page is rendered before any is written, so a missing extra leaves no file behind."""
    from redraft.report.html import render_html

    pages: dict[Path, str] = {}
    links: dict[str, str] = {}
    strategies: dict[str, list[str]] = {}
    stem = path.name.removesuffix(".html")
    for eval_id in result.eval_ids:
        try:
            summary, items = summarize(store, eval_id)
        except RunNotFound:
            continue
        strategies[eval_id] = summary.eval.strategies
        target = path.with_name(f"{stem}.{eval_id}.html")
        pages[target] = render_html(summary, items, store)
        links[eval_id] = "./" + quote(target.name)  # "./": a file name is never read as a URL scheme
    study_page = render_study_html(result, record=record, eval_links=links, eval_strategies=strategies)
    written = [path, *pages]
    for target, page in {path: study_page, **pages}.items():
        target.write_text(page, encoding="utf-8")
    return written

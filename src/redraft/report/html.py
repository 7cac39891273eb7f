"""The self-contained HTML report: table, figures, and every problem's rounds to browse.

It needs jinja2 and matplotlib, the `report` extra; they are imported when a report is
rendered, and `render_html` raises `MissingExtra` without them.
"""

from __future__ import annotations

import importlib

from redraft.extras import needs_extra
from redraft.report.summary import EvalSummary
from redraft.report.table import paired
from redraft.runs.eval_store import ItemResult
from redraft.runs.metrics import REWARD_NOT_CHECKED, plain_stage
from redraft.runs.store import RunNotFound, RunStore

FEATURE = "the HTML report"
EXTRA = "report"

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>redraft eval {{ s.eval.id }}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 14px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.ok { color: #1e7d3a; font-weight: 600; } .bad { color: #b03a2e; font-weight: 600; }
.oracle { background: #fff4d6; }
.warn { background: #fff0f0; padding: .5em; border-left: 4px solid #c0392b; }
.figures img { max-width: 48%; margin: 0 1% 1em 0; border: 1px solid #eee; }
details { margin: .3em 0; } summary { cursor: pointer; }
pre { white-space: pre-wrap; background: #fafafa; border: 1px solid #eee; padding: .5em; margin: .3em 0; }
.verdict { font-size: 12px; color: #555; }
</style></head><body>
<h1>redraft evaluation {{ s.eval.id }}</h1>
<p>Task <b>{{ s.eval.task }}</b> · {{ s.problems }} problems · model {{ model }} · status {{ s.eval.status }}
 · created {{ s.eval.created_at[:19] }}</p>
{% if not s.complete %}<p class="warn">This evaluation is incomplete ({{ s.eval.status }}):
 resume it with <code>redraft evals resume {{ s.eval.id }}</code>.</p>{% endif %}
<h2>Comparison</h2>
<p>How to read these numbers: <code>docs/numbers.md</code>. Deltas are paired (problems both sides
finished): delta [95% paired bootstrap interval], McNemar exact p, n paired.</p>
<table><tr><th>strategy</th><th>n</th><th>accuracy (95% CI)</th><th>accuracy by round</th>
<th>wrong→right / right→wrong</th><th>CL / CS</th><th>calls / problem</th><th>tokens / problem</th>
<th>vs direct</th><th>vs self-consistency at equal tokens</th><th>unknown verdicts</th>
<th>truncated (per role)</th></tr>
{% for m in s.strategies %}<tr class="{{ 'oracle' if m.oracle }}">
<td>{{ m.label }}</td><td>{{ m.n }}{% if m.n_errors %} (+{{ m.n_errors }} errors){% endif %}</td>
<td>{{ pct(m.accuracy) }} ({{ pct(m.ci_low) }}–{{ pct(m.ci_high) }})</td>
<td>{% for r in m.rounds %}{{ pct(r.accuracy) }}{% if r.change %} (CL {{ pct(r.change.cl) }}, CS
 {{ pct(r.change.cs) }}, base {{ r.change.n_base }}){% endif %}{% if not loop.last %} → {% endif %}
{% endfor %}</td>
<td>{% if m.overall %}{{ m.overall.wrong_to_right }} / {{ m.overall.right_to_wrong }}{% endif %}</td>
<td>{% if m.overall %}{{ pct(m.overall.cl) }} / {{ pct(m.overall.cs) }}{% endif %}</td>
<td>{{ '%.1f' % m.calls_per_problem }}</td><td>{{ '%.0f' % m.tokens_per_problem }}</td>
<td>{% if m.vs_direct %}{{ paired(m.vs_direct) }} at {{ '%.1f' % m.vs_direct.token_ratio }}× tokens
{% endif %}</td>
<td>{% if m.vs_self_consistency %}{{ paired(m.vs_self_consistency) }} vs k={{ m.vs_self_consistency.k }}
 ({{ pct(m.vs_self_consistency.baseline_accuracy) }})
{% if m.vs_self_consistency.capped %} <b>CAPPED</b>{% endif %}
{% endif %}</td>
<td>{{ pct(m.unknown_verdict_rate) }}</td>
<td>{% for role, rate in m.truncated_rate|dictsort %}{{ role }} {{ pct(rate) }}
{% if not loop.last %}, {% endif %}{% endfor %}</td></tr>
{% endfor %}</table>
{% for m in s.strategies %}
{% if m.refinement_gap is not none and m.strategy not in voters %}
<p>{{ m.label }}: refinement gap {{ paired(m.refinement_gap) }} (accuracy minus the majority
vote over its own samples, {{ pct(m.sample_vote_accuracy) }}).</p>{% endif %}
{% if m.vs_self_consistency and m.vs_self_consistency.note %}<p>{{ m.label }}: vs self-consistency:
 {{ m.vs_self_consistency.note }}</p>{% endif %}{% if m.vs_self_consistency_at_calls %}<p>{{ m.label }}: vs
 self-consistency at equal calls (k={{ m.vs_self_consistency_at_calls.k }},
 {{ pct(m.vs_self_consistency_at_calls.baseline_accuracy) }}): {{ paired(m.vs_self_consistency_at_calls) }}
{% if m.vs_self_consistency_at_calls.note %}; {{ m.vs_self_consistency_at_calls.note }}{% endif %}</p>
{% endif %}
{% if m.rounds|length > 1 %}<p>{{ m.label }}: {{ '%.2f' % m.rounds_per_problem }} rounds per problem
 on average.</p>{% endif %}{% if m.reward_hacking %}
<p class="warn">{{ m.label }}: {{ m.reward_hacking }}</p>
{% elif m.rounds|length > 1 and not m.reward_hacking_checked %}<p>{{ m.label }}: {{ not_checked }}</p>
{% endif %}{% if m.calibration %}<p>{{ m.label }}: {{ m.calibration.note() }}</p>{% endif %}
{% if m.oracle %}<p class="warn">{{ m.label }} used ORACLE feedback (it reads the reference):
 an upper bound, not a deployable result.</p>{% endif %}{% endfor %}
<p>CL = P(right after | right before), CS = P(right after | wrong before): per round over the problems
still being revised in it (base), and from first to final answer over every problem.
Intervals are 95% Wilson intervals.</p>
<h2>Figures</h2>
<div class="figures"><img alt="accuracy against tokens" src="{{ fig_cost }}">
<img alt="accuracy by round" src="{{ fig_rounds }}"><img alt="flips per round" src="{{ fig_flips }}"></div>
<h2>Problems</h2>
{% if left_out %}<p class="note">{{ total }} problems: past {{ cap }}, this page lists in full only those
that some strategy got wrong or failed on ({{ problems|length }} shown, first by problem order);
{{ left_out }} problems are left out{% if all_right %}, {{ all_right }} of them right for every
strategy{% endif %}. Each item's trace: <code>redraft runs show RUN_ID</code>; every item:
<code>redraft evals show</code>.</p>{% endif %}
{% for problem in problems %}<details><summary>{{ problem.id }} —
{% for item in problem.results %}<span class="{{ 'ok' if item.correct else 'bad' }}">{{ item.strategy }}
{{ 'error' if item.status == 'error' else ('✓' if item.correct else '✗') }}</span>
{%- if not loop.last %} · {% endif %}{% endfor %}</summary>
<pre>{{ problem.prompt }}</pre>
{% if problem.reference %}<p>reference: <b>{{ problem.reference }}</b></p>{% endif %}
{% for item in problem.results %}<details><summary>{{ item.strategy }}: answer {{ item.answer }}
({% if item.status == 'error' %}error, not scored: {{ item.error }}
{%- else %}{{ 'right' if item.correct else 'wrong' }}{% endif %}; {{ item.calls }} calls,
 {{ item.tokens }} tokens)</summary>
{% for c in item.candidates %}<div><b>round {{ c.round }} · {{ c.kind }}</b>
{% if c.metadata.stage %}<span class="verdict">(from {{ c.metadata.stage }})</span>{% endif %}
<pre>{{ c.text }}</pre>{% if c.feedback is not none %}<div class="verdict">feedback — verdict
{{ c.verdict or 'none' }}{% if c.score is not none %}, score {{ '%.2f' % c.score }}{% endif %}</div>
<pre>{{ c.feedback }}</pre>{% endif %}</div>{% endfor %}</details>{% endfor %}</details>
{% endfor %}
</body></html>
"""


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


#: Problems listed in full, at most: each carries every candidate's text, so 10,000 problems made
#: a page of tens of MiB that a browser opens slowly, and reading every run took most of the build.
MAX_PROBLEMS_IN_FULL = 2000


def shown_problems(items: dict[str, list[ItemResult]], cap: int = MAX_PROBLEMS_IN_FULL) -> set[str]:
    """The problems the page lists: all of them up to `cap`; past it, those some strategy got
    wrong or failed on (what a reader looks into), the first `cap` of them by problem order."""
    every = {i.problem_id: i.problem_index for results in items.values() for i in results}
    if len(every) <= cap:
        return set(every)
    return set(sorted(missed_problems(items), key=every.__getitem__)[:cap])


def missed_problems(items: dict[str, list[ItemResult]]) -> set[str]:
    """The problems some strategy got wrong or failed on."""
    return {i.problem_id for results in items.values() for i in results
            if i.status == "error" or not i.correct}


def render_html(summary: EvalSummary, items: dict[str, list[ItemResult]], store: RunStore) -> str:
    with needs_extra(FEATURE, EXTRA, "jinja2"):
        from jinja2 import Environment
    plots = importlib.import_module("redraft.report.plots")  # MissingExtra without matplotlib
    problems: dict[str, dict] = {}
    shown = shown_problems(items)
    every = {i.problem_id for results in items.values() for i in results}
    missed = missed_problems(items)
    for spec, results in items.items():
        for item in results:
            if item.problem_id not in shown:
                continue
            try:
                run = store.get_run(item.run_id) if item.run_id else None
            except RunNotFound:
                run = None
            entry = problems.setdefault(item.problem_id, {
                "id": item.problem_id, "index": item.problem_index, "results": [],
                "prompt": run.prompt if run else "", "reference": item.reference,
            })
            entry["results"].append({**item.model_dump(), "strategy": spec, "tokens": item.tokens,
                                   "candidates": run.candidates if run else []})
    ordered = sorted(problems.values(), key=lambda p: p["index"])
    generator = summary.eval.config.get("generator", {}) or {}
    model = generator.get("model") or ("local" if not generator.get("base_url") else generator["base_url"])
    environment = Environment(autoescape=True)
    return environment.from_string(TEMPLATE).render(
        s=summary, pct=pct, paired=paired, problems=ordered, model=model, not_checked=REWARD_NOT_CHECKED,
        voters={m.strategy for m in summary.strategies if plain_stage(m.strategy) == "self_consistency"},
        fig_cost=plots.accuracy_vs_tokens(summary.strategies),
        fig_rounds=plots.accuracy_by_round(summary.strategies),
        fig_flips=plots.flips(summary.strategies),
        total=len(every), cap=MAX_PROBLEMS_IN_FULL, left_out=len(every) - len(shown),
        all_right=len(every - missed),
    )

"""`redraft route fit|show`: learn adaptive refinement's policy from finished evaluations, and read one.

The evaluations are of the fixed arms (`adaptive[action=stop]`, `adaptive[action=vote]`, ...), which
measure the router's signals and then always take their action; `fit` writes the policy file that
`adaptive[policy=FILE]` runs. Every figure `fit` prints is out of fold (see
`redraft.runs.routing_fit`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, cast

import typer
from rich.markup import escape
from rich.table import Table

from redraft.cli import options as o
from redraft.cli.app import app, stdout, user_errors
from redraft.errors import UsageError
from redraft.routing.policy import Policy, load_policy
from redraft.runs.routing_data import training_set
from redraft.runs.routing_fit import Objective, fit_policy
from redraft.runs.store import RunStore

route_app = typer.Typer(help="Adaptive refinement's router: fit a policy from evaluations, show one.",
                        pretty_exceptions_enable=False)
app.add_typer(route_app, name="route")

OBJECTIVES = ("accuracy", "accuracy_per_token")


@route_app.command("fit")
def route_fit(
    from_: Annotated[list[str], typer.Option(
        "--from", help="Evaluations of the fixed arms (ids or unique prefixes; repeat or comma-separate).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the policy file (JSON).")],
    objective: Annotated[str, typer.Option(help="accuracy, or accuracy_per_token.")] = "accuracy",
    budget_tokens: Annotated[int | None, typer.Option(
        help="Mean tokens per problem the router may spend (out of fold).")] = None,
    folds: Annotated[int, typer.Option(help="Cross-validation folds, by problem.")] = 5,
    seed: Annotated[int, typer.Option(help="Seed of the fold assignment.")] = 0,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing policy file.")] = False,
    db: o.Db = None,
    as_json: o.Json = False,
) -> None:
    """Fit a policy: one classifier per action, cross-validated by problem, written as readable JSON."""
    with user_errors():
        if objective not in OBJECTIVES:
            raise UsageError(f"--objective must be one of {', '.join(OBJECTIVES)}, got {objective!r}")
        o.check_counts(positive={"budget_tokens": budget_tokens, "folds": folds})
        if folds < 2:
            raise UsageError("--folds must be at least 2 (each problem is decided by a model fitted "
                             "without it)")
        if out.exists() and not force:
            raise UsageError(f"{out} exists: give --force to overwrite it, or another --out")
        eval_ids = [part.strip() for given in from_ for part in given.split(",") if part.strip()]
        data = training_set(RunStore(db), eval_ids)
        policy = fit_policy(data, objective=cast(Objective, objective), budget_tokens=budget_tokens,
                            folds=folds, seed=seed)
        policy.save(out)
    if as_json:
        typer.echo(json.dumps({"policy": str(out), **policy.model_dump(mode="json")}))
        return
    print_policy(policy)
    stdout.print(f"policy written to {out}; run it with --strategy 'adaptive[policy={out}]' on problems it "
                 "was not fitted on (e.g. --offset)", markup=False, highlight=False)


@route_app.command("show")
def route_show(
    policy_file: Annotated[Path, typer.Argument(help="A policy file from `redraft route fit`.")],
    as_json: o.Json = False,
) -> None:
    """Print a policy: its decision, features, coefficients and out-of-fold figures."""
    with user_errors():
        policy = load_policy(policy_file)
    if as_json:
        typer.echo(json.dumps(policy.model_dump(mode="json")))
        return
    print_policy(policy, coefficients=True)


def print_policy(policy: Policy, *, coefficients: bool = False) -> None:
    v = policy.validation
    trained = policy.trained_on
    stdout.print(f"policy {policy.digest()}: fitted on {trained.problems} problems of "
                 f"{', '.join(trained.tasks)} "
                 f"(evals {', '.join(trained.evaluations)}), objective {policy.objective}"
                 + (f", budget {policy.budget_tokens} tokens" if policy.budget_tokens else ""),
                 markup=False, highlight=False)
    table = Table(title=f"out of fold, {v.folds} folds by problem", title_justify="left")
    for column in ("", "accuracy", "tokens/problem", "chosen (router)", "Brier", "Brier of base rate"):
        table.add_column(column, justify="left" if not column else "right")
    for action in policy.actions:
        fixed = v.fixed[action.name]
        label = f"always {action.name}" + (f" ({action.spec})" if action.spec else " (the draft)")
        table.add_row(escape(label), f"{fixed.accuracy:.1%}", f"{fixed.tokens:.0f}",
                      str(v.chosen.get(action.name, 0)),
                      f"{v.brier[action.name]:.3f}", f"{v.brier_base_rate[action.name]:.3f}")
    table.add_row("router", f"{v.router.accuracy:.1%}", f"{v.router.tokens:.0f}", "", "", "")
    table.add_row("oracle (best action per problem, an upper bound)", f"{v.oracle.accuracy:.1%}",
                  f"{v.oracle.tokens:.0f}", "", "", "")
    stdout.print(table)
    versus = v.versus_best_fixed
    if versus.get("ci_low") is not None:
        stdout.print(f"router − always {v.best_fixed}: {versus['effect']:+.1%} "
                     f"[{versus['ci_low']:+.1%}, {versus['ci_high']:+.1%}] (95%, paired)", markup=False,
                     highlight=False)
    if policy.constant_action is not None:
        stdout.print(f"decision: always {policy.constant_action}, no signal measured (the signals carried no "
                     "information out of fold)", markup=False, highlight=False)
    else:
        stdout.print(f"decision: argmax P(right) − {policy.tradeoff:.3g} × mean tokens; features: "
                     f"{', '.join(policy.features)}", markup=False, highlight=False)
    if coefficients:
        for action in policy.actions:
            model = action.model
            if model.kind == "constant":
                stdout.print(f"  {action.name}: P(right) = {model.probability_right:.3f} ({model.reason})",
                             markup=False, highlight=False)
                continue
            terms = ", ".join(f"{f} {c:+.2f}" for f, c in zip(model.features, model.coef, strict=True))
            stdout.print(f"  {action.name}: intercept {model.intercept:+.2f}; per standard deviation: "
                         f"{terms}",
                         markup=False, highlight=False)
    for note in policy.notes:
        stdout.print(f"note: {note}", markup=False, highlight=False)

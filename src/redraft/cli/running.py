"""`redraft run` (a strategy on a prompt or a task's problem) and `redraft judge` (one verdict)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from typing import Annotated, Any

import typer

from redraft.api import arefine
from redraft.cli import options as o
from redraft.cli.app import app, stderr, stdout, user_errors
from redraft.cli.live import LiveView
from redraft.cli.signals import run_interruptible
from redraft.context import Budget, Context
from redraft.feedback.registry import get_feedback
from redraft.models.managed import ManagedModel
from redraft.runs.scoring import Scorer
from redraft.runs.store import RunStore
from redraft.strategies.registry import build_strategy
from redraft.tasks.base import Problem, Task, TaskError
from redraft.tasks.registry import get_task


def resolve_problem(prompt: str | None, task_spec: str | None, ref: str) -> tuple[Problem, Task | None]:
    """The problem to solve: a task's problem, or the prompt the user typed."""
    if task_spec is None:
        if not prompt:
            raise TaskError("give a PROMPT, or a --task and --problem")
        return Problem(id="prompt", prompt=prompt), None
    if prompt:
        raise TaskError("give either a PROMPT or a --task, not both")
    task = get_task(task_spec)
    return o.pick_problem(task, ref), task


async def score_if_possible(
    task: Task | None, problem: Problem, text: str, models: dict[str, ManagedModel],
    store: RunStore | None = None, run_id: str | None = None,
) -> dict[str, Any] | None:
    """The task's verdict on the final answer (after the run: it reads the reference).

    A model-graded task is graded by the `judge` role's model (else the critic's, else the
    generator's); its calls go into the run's trace, in the `judge` role.
    """
    if task is None:
        return None
    try:
        scorer = Scorer.for_run(task, models, store=store, run_id=run_id)
        score = await scorer.score(problem, text)
    except TaskError as exc:
        return {"correct": None, "explanation": str(exc)}
    scorer.save_usage()
    return {"correct": score.correct, "extracted": score.extracted, "reference": score.reference,
            "explanation": score.explanation, "judge_calls": scorer.usage.calls}


async def close(models: dict[str, ManagedModel]) -> None:
    for managed in models.values():
        await managed.aclose()


@app.command()
def run(
    prompt: Annotated[str | None, typer.Argument(help="The question or task for the model.")] = None,
    strategy: Annotated[str, typer.Option("--strategy", "-s", help="Strategy name.")] = "self_refine",
    task_spec: o.TaskSpec = None,
    problem_ref: o.ProblemRef = "0",
    feedback: o.FeedbackSpec = None,
    model: o.Model = None,
    base_url: o.BaseUrl = None,
    api_key: o.ApiKey = None,
    critic_model: o.CriticModel = None,
    critic_base_url: o.CriticBaseUrl = None,
    critic_api_key: o.CriticApiKey = None,
    role: o.Roles = [],  # noqa: B006
    role_api_key: o.RoleApiKeys = [],  # noqa: B006
    max_rounds: Annotated[int | None, typer.Option(help="Refinement rounds (strategy default).")] = None,
    param: Annotated[list[str], typer.Option(
        "--param", "-p", help="Strategy parameter KEY=VALUE (repeatable).")] = [],  # noqa: B006
    temperature: Annotated[float | None, typer.Option(help="Sampling temperature.")] = None,
    max_tokens: Annotated[int, typer.Option(help="Max completion tokens per call.")] = 512,
    seed: Annotated[int | None, typer.Option(help="Sampling seed, where supported.")] = None,
    max_calls: Annotated[int | None, typer.Option(help="Budget: max model calls.")] = None,
    max_total_tokens: Annotated[int | None, typer.Option(help="Budget: max tokens in all.")] = None,
    retries: o.Retries = 4,
    timeout: o.Timeout = 120.0,
    db: o.Db = None,
    as_json: o.Json = False,
) -> None:
    """Run a strategy on PROMPT (or a task's problem), showing each draft, critique and redraft."""
    with user_errors():
        o.check_counts(positive={"max_tokens": max_tokens, "max_calls": max_calls,
                                 "max_total_tokens": max_total_tokens, "timeout": timeout},
                       non_negative={"retries": retries})
        problem, task = resolve_problem(prompt, task_spec, problem_ref)
        params = o.parse_params(param)
        if max_rounds is not None:
            params["max_rounds"] = max_rounds
        chosen = build_strategy(strategy, feedback, task=task, **params)
        models = o.role_models(model=model, base_url=base_url, api_key=api_key,
                               critic_model=critic_model, critic_base_url=critic_base_url,
                               critic_api_key=critic_api_key, timeout=timeout, retries=retries,
                               roles=role, role_api_keys=role_api_key)
        sampling = {"temperature": temperature, "max_tokens": max_tokens, "seed": seed}
        store = RunStore(db)
        listeners = [] if as_json else [LiveView(stdout)]
        spinner = (stderr.status("thinking…") if stdout.is_terminal and not as_json
                   else contextlib.nullcontext())

        async def go() -> tuple[Any, dict[str, Any] | None]:
            try:
                outcome = await arefine(
                    problem, strategy=chosen, model=models["generator"],
                    roles={r: m for r, m in models.items() if r != "generator"}, task=task,
                    budget=Budget(max_calls=max_calls, max_tokens=max_total_tokens),
                    sampling={k: v for k, v in sampling.items() if v is not None},
                    store=store, listeners=listeners, close_models=False,
                )
                return outcome, await score_if_possible(task, problem, outcome.text, models,
                                                        store, outcome.run_id)
            finally:
                await close(models)

        with spinner:
            outcome, score = run_interruptible(go())  # SIGINT/SIGTERM: the run is marked interrupted
    if as_json:
        summary = outcome.to_summary()
        if task is not None:
            summary.update(task=task_spec, problem_id=problem.id, score=score)
        typer.echo(json.dumps(summary, ensure_ascii=False))
        return
    usage = outcome.usage
    stdout.rule("answer")
    stdout.print(outcome.text.strip(), markup=False, highlight=False)
    if score is not None:
        verdict = {True: "correct", False: "wrong", None: "not scored"}[score["correct"]]
        stdout.print(f"{problem.id}: {verdict} (extracted {score.get('extracted')!r}, reference "
                     f"{score.get('reference')!r}) {score['explanation']}", markup=False, highlight=False)
    oracle = " · ORACLE feedback" if outcome.oracle else ""
    stdout.print(
        f"run {outcome.run_id} · {outcome.strategy}{oracle} · stopped: {outcome.stop_reason} · "
        f"{usage.calls} calls, {usage.prompt_tokens}+{usage.completion_tokens} tokens, "
        f"{outcome.wall_s:.1f}s", markup=False, highlight=False, style="dim",
    )


@app.command()
def judge(
    candidate: Annotated[str, typer.Argument(help="The answer to judge; '-' reads it from stdin.")],
    feedback: Annotated[str, typer.Option("--feedback", "-f", help="Feedback source.")] = "critic",
    prompt: Annotated[str | None, typer.Option(help="The question the candidate answers.")] = None,
    task_spec: o.TaskSpec = None,
    problem_ref: o.ProblemRef = "0",
    model: o.Model = None,
    base_url: o.BaseUrl = None,
    api_key: o.ApiKey = None,
    critic_model: o.CriticModel = None,
    critic_base_url: o.CriticBaseUrl = None,
    critic_api_key: o.CriticApiKey = None,
    role: o.Roles = [],  # noqa: B006
    role_api_key: o.RoleApiKeys = [],  # noqa: B006
    max_tokens: Annotated[int, typer.Option(help="Max completion tokens per call.")] = 512,
    retries: o.Retries = 4,
    timeout: o.Timeout = 120.0,
    as_json: o.Json = False,
) -> None:
    """Show the verdict a feedback source gives CANDIDATE (and the task's score, if it has one)."""
    with user_errors():
        text = sys.stdin.read() if candidate == "-" else candidate
        problem, task = resolve_problem(prompt, task_spec, problem_ref)
        source = get_feedback(feedback, task)
        models = o.role_models(model=model, base_url=base_url, api_key=api_key,
                               critic_model=critic_model, critic_base_url=critic_base_url,
                               critic_api_key=critic_api_key, timeout=timeout, retries=retries,
                               roles=role, role_api_keys=role_api_key)

        async def go() -> tuple[Any, dict[str, Any] | None]:
            ctx = Context(models, sampling={"max_tokens": max_tokens},
                          extract=task.extract if task else None)
            try:
                verdict = await source.judge(problem, text, ctx)
                return verdict, await score_if_possible(task, problem, text, models)
            finally:
                await close(models)

        result, score = asyncio.run(go())
    out = {"feedback": feedback, "oracle": source.oracle, "verdict": result.verdict.value,
           "score": result.score, "text": result.text, "task_score": score}
    if as_json:
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    label = " (ORACLE: reads the reference)" if source.oracle else ""
    stdout.print(f"{feedback}{label}: verdict {result.verdict.value}"
                 + (f", score {result.score:.2f}" if result.score is not None else ""),
                 markup=False, highlight=False)
    stdout.print(result.text, markup=False, highlight=False)
    if score is not None:
        stdout.print(f"task score (uses the reference): {score}", markup=False, highlight=False)

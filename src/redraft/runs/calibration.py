"""Parameters measured over a whole evaluation: a calibration pass before the real one.

MAgICoRe's code calls a problem hard when its winner's confidence is below the *dataset's*
mean reward, a number no single problem has. A strategy whose parameter waits for such a
statistic says so (`Strategy.awaiting_calibration`, e.g. `magicore[min_confidence=dataset]`);
the evaluation then, once per strategy spec and before any of its items:

1. runs `calibration_values` on every problem (MAgICoRe: sample and score the k initial
   solutions), each a run of its own in the store (stop reason "calibration"), under the
   evaluation's sampling, per-problem budget and concurrency;
2. hands the values of all problems, in problem order, to `calibrated_params` (MAgICoRe: their
   mean), and records the result with the evaluation (`EvalConfig.calibration`): the numbers,
   how many values and problems they came from, what the pass cost, its run ids;
3. builds every item's strategy with those numbers (`Strategy.calibrate`), so each run's
   strategy params hold the resolved number and say where it came from.

Step 1 is `calibrate_problem` per problem and step 2 is `resolve`, so an executor that runs the
problems elsewhere (the Ray executor, on its actors) resolves the very same calibration.
Resume reads the recorded calibration back and never measures again. The pass's calls and
tokens are added to the strategy's cost in the report (and said so in a note), never hidden.
A problem whose calibration run fails is left out of the statistic and counted (`failed`); when
no problem gives a value, every item of the spec fails with a `CalibrationError` (no fallback),
and `resume` tries the calibration again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field

from redraft.context import Context
from redraft.errors import RedraftError
from redraft.models.managed import ManagedModel
from redraft.runs.runner import run_strategy
from redraft.strategies.base import Final, Strategy
from redraft.tasks.base import Problem
from redraft.trace import CallRecord, Candidate, Event


class CalibrationError(RedraftError):
    """A calibration pass gave no value: the items of its strategy fail rather than guess one."""


class Calibration(BaseModel):
    """What one strategy spec's calibration pass measured, as recorded with the evaluation."""

    #: The resolved parameters, e.g. {"min_confidence": 0.6125}.
    params: dict[str, Any]
    #: How many values the statistic is over (MAgICoRe: scored initial samples) ...
    samples: int
    #: ... from how many problems (those whose calibration run finished).
    problems: int
    #: Problems whose calibration run failed: not in the statistic; the first error.
    failed: int = 0
    first_error: str | None = None
    #: What the pass cost: counted in the strategy's cost in the report.
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    run_ids: list[str] = Field(default_factory=list)
    #: An offline learning pass instead (MetaReflection, `redraft.runs.learning`): its training task,
    #: sizes, batches and those kept, validation accuracy of each kept instruction set.
    learning: dict[str, Any] | None = None

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def source(self) -> dict[str, Any]:
        """Where the parameters came from, as each run of the evaluation records it."""
        return {"from": "calibration pass", "samples": self.samples, "problems": self.problems}

    def describe(self) -> str:
        """`min_confidence=0.6125 (the statistic of 32 values over 8 problems)`, for the report."""
        if self.learning is not None:
            return learned_text(self.learning)
        shown = ", ".join(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}"
                          for key, value in self.params.items())
        text = (f"{shown} measured in a calibration pass over {self.samples} values from "
                f"{self.problems} problems")
        if self.failed:
            text += f" ({self.failed} problems' calibration runs failed and are not in it)"
        return text

    def note(self) -> str:
        """The report's line: the value, its base, and that its cost is in the strategy's."""
        return (f"{self.describe()}; the pass's {self.calls} calls and {self.tokens} tokens are included "
                "in the cost above")


def learned_text(learning: Mapping[str, Any]) -> str:
    """What a learning pass learned, in one line: where, how much was kept, validation accuracy."""
    accuracy = " → ".join(f"{a:.0%}" for a in learning.get("validation_accuracy", []))
    return (f"instructions learned on {learning.get('train_task')} ({learning.get('train')} training, "
            f"{learning.get('validation')} validation problems): {learning.get('kept')} of "
            f"{learning.get('batches')} batches kept, validation accuracy {accuracy or '–'}")


class CalibrationPass(Strategy):
    """A strategy's calibration phase on one problem, run (and traced) as a strategy of its own."""

    name = "calibration"
    paper = "the calibration phase of the strategy it wraps"

    def __init__(self, inner: Strategy) -> None:  # noqa: D107
        self.inner = inner
        self.params = inner.params
        self.feedback = inner.feedback
        self.values: list[float] = []

    @property
    def full_name(self) -> str:
        return f"{self.inner.full_name} (calibration)"

    @property
    def oracle(self) -> bool:
        return self.inner.oracle

    def all_roles(self) -> tuple[str, ...]:
        return self.inner.all_roles()

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        self.values = list(await self.inner.calibration_values(problem, ctx))
        return Final(candidate=None, stop_reason="calibration")

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        return None

    def describe(self) -> dict[str, Any]:
        return {**self.inner.describe(), "name": self.full_name, "calibration_pass": True}


class ProblemValues(BaseModel):
    """One problem's calibration run: its values (None when the run failed) and what it cost.

    Plain values, so a run made on another machine (a Ray actor) comes back as it is."""

    problem_id: str
    values: list[float] | None = None
    run_id: str | None = None
    error: str | None = None
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


async def calibrate_problem(
    build: Callable[[], Strategy],
    problem: Problem,
    models: Mapping[str, ManagedModel],
    *,
    error_text: Callable[[Exception], str],
    **run_options: Any,
) -> ProblemValues:
    """Run `build()`'s calibration phase on one problem; a run that fails is that problem's error
    (left out of the statistic, counted), never the pass's. `run_options` go to `run_strategy`."""
    strategy = CalibrationPass(build())
    calls: list[CallRecord] = []

    def count(event: Event) -> None:
        if isinstance(event, CallRecord) and event.error is None:
            calls.append(event)

    def cost() -> dict[str, int]:
        return {"calls": sum(max(1, len(c.texts)) for c in calls),
                "prompt_tokens": sum(c.prompt_tokens for c in calls),
                "completion_tokens": sum(c.completion_tokens for c in calls)}

    try:
        outcome = await run_strategy(strategy, problem, models, listeners=[count], **run_options)
    except Exception as exc:  # noqa: BLE001 - a problem that cannot be calibrated is left out, counted
        return ProblemValues(problem_id=problem.id, error=f"{problem.id}: {error_text(exc)}", **cost())
    return ProblemValues(problem_id=problem.id, values=strategy.values, run_id=outcome.run_id, **cost())


def resolve(spec: str, build: Callable[[], Strategy], results: Sequence[ProblemValues]) -> Calibration:
    """The calibration from every problem's values, in problem order (a reproducible sum), or a
    `CalibrationError` when no problem gave one."""
    values = [v for result in results if result.values is not None for v in result.values]
    errors = [result.error for result in results if result.error is not None]
    usage = {key: sum(getattr(result, key) for result in results)
             for key in ("calls", "prompt_tokens", "completion_tokens")}
    if not values:
        awaited = ", ".join(f"{k}={v}" for k, v in build().awaiting_calibration().items())
        why = (f"{len(errors)} calibration runs failed, first: {errors[0]}" if errors
               else "no value was scored")
        raise CalibrationError(
            f"{spec}: {awaited} needs values from the evaluation's calibration pass, but none of its "
            f"{len(results)} problems gave one ({why}; the pass spent {usage['calls']} calls, "
            f"{usage['prompt_tokens'] + usage['completion_tokens']} tokens); not run with a guessed value")
    return Calibration(
        params=build().calibrated_params(values), samples=len(values), problems=len(results) - len(errors),
        failed=len(errors), first_error=errors[0] if errors else None,
        run_ids=[result.run_id for result in results if result.run_id is not None], **usage,
    )


async def measure(
    spec: str,
    build: Callable[[], Strategy],
    problems: Sequence[Problem],
    models: Mapping[str, ManagedModel],
    *,
    limit: asyncio.Semaphore,
    error_text: Callable[[Exception], str],
    **run_options: Any,
) -> Calibration:
    """Run `build()`'s calibration phase on every problem (at most `limit` at once) and resolve its
    awaited parameters from the values of all of them; `run_options` go to `run_strategy`."""

    async def one(problem: Problem) -> ProblemValues:
        async with limit:
            return await calibrate_problem(build, problem, models, error_text=error_text, **run_options)

    return resolve(spec, build, await asyncio.gather(*(one(p) for p in problems)))

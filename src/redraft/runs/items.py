"""One item of an evaluation: one strategy spec on one problem, run, scored and shaped as an ItemResult.

Every executor runs its items through `ItemRunner`: the local one in this process, against the
evaluation's own run store; the Ray executor on its actors, each item against a run store of its
own in memory, shipped back whole (see `redraft.runs.transfer`). So an item is the same computation
wherever it runs, and its trace and result are the same rows. The runner needs the evaluation's
config, its task and a run store for the item's trace; nothing of the evaluation's bookkeeping
(its row, its lease, which items are pending).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from redraft.context import Budget
from redraft.models.base import Usage
from redraft.models.cache import ResponseCache
from redraft.models.managed import ManagedModel
from redraft.models.resolve import managed_model
from redraft.redact import redact
from redraft.runs.calibration import CalibrationError, ProblemValues, calibrate_problem
from redraft.runs.counterfactual import run_counterfactuals
from redraft.runs.eval_config import EvalConfig
from redraft.runs.eval_store import ItemResult
from redraft.runs.runner import run_strategy
from redraft.runs.scoring import HeldOutJudge, Scorer, judge_of
from redraft.runs.store import RunStore
from redraft.strategies.base import Strategy
from redraft.strategies.registry import build_strategy, outer_params
from redraft.tasks.base import Problem, Task
from redraft.trace import CallRecord, Candidate, Pick, Verdict


def build_models(
    config: EvalConfig, concurrency: int, generator_url: str | None = None
) -> dict[str, ManagedModel]:
    """The models of `config`, `concurrency` calls at once per role; `generator_url`: the endpoint
    of the pool the generator calls (a bound role keeps its own; an unbound one falls back to the
    generator, so it follows)."""
    cache = ResponseCache() if config.cache else None
    generator = config.generator
    if generator_url is not None:
        generator = generator.model_copy(update={"base_url": generator_url})
    configs = {"generator": generator, **config.roles}
    limit = {"concurrency": concurrency}
    return {role: managed_model(c.model_copy(update=limit), cache=cache) for role, c in configs.items()}


def error_text(config: EvalConfig, exc: Exception) -> str:
    """An exception as an item records it, with none of the config's API keys in it."""
    keys = [c.api_key for c in (config.generator, *config.roles.values())]
    return redact(f"{type(exc).__name__}: {exc}", keys)


class ItemRunner:
    """Runs items of one evaluation (`config`, `task`), tracing each into `store`."""

    def __init__(self, config: EvalConfig, task: Task, store: RunStore, eval_id: str | None = None) -> None:
        self.config = config
        self.task = task
        self.store = store
        #: The evaluation's id, which a calibrated run records as the source of its parameters.
        self.eval_id = eval_id

    def build(self, spec: str) -> Strategy:
        """The strategy a spec names; `-p` parameters go to every outer stage that has them."""
        return build_strategy(spec, task=self.task, **outer_params(spec, self.config.params))

    def calibrated(self, spec: str) -> Strategy:
        """The strategy an item runs: `build(spec)` with its recorded calibration, if it takes one."""
        strategy = self.build(spec)
        if strategy.needs_calibration:
            recorded = self.config.calibration.get(spec)
            if recorded is None:
                raise CalibrationError(f"{spec} is not calibrated yet (`Evaluation.calibration` measures it)")
            strategy.calibrate(recorded.params, {**recorded.source(), "eval_id": self.eval_id})
        return strategy

    def run_options(self) -> dict[str, Any]:
        """What every run of the evaluation gets: per-problem budget, sampling, extractor, store."""
        sampling = {
            "temperature": self.config.temperature,
            "max_tokens": self.config.max_tokens,
            "seed": self.config.seed,
        }
        return {
            "budget": Budget(max_calls=self.config.budget_calls, max_tokens=self.config.budget_tokens),
            "sampling": {k: v for k, v in sampling.items() if v is not None},
            "extract": self.task.extract,
            "store": self.store,
        }

    async def calibrate(self, spec: str, problem: Problem, models: dict[str, ManagedModel]) -> ProblemValues:
        """`spec`'s calibration phase on one problem (see `redraft.runs.calibration`)."""
        return await calibrate_problem(
            lambda: self.build(spec), problem, models, error_text=self.error_text, **self.run_options()
        )

    async def run_or_record(
        self, spec: str, index: int, problem: Problem, models: dict[str, ManagedModel]
    ) -> ItemResult:
        """The scored item, or, when it fails for good, an error item: one problem's failure (a
        poisoned prompt, a 400, retries exhausted) is recorded and never stops the evaluation.
        Cancellation and Ctrl-C (not `Exception`s) still stop it."""
        try:
            return await self.run_item(spec, index, problem, models)
        except Exception as exc:  # noqa: BLE001 - any failure of one item is that item's error
            return self.error_item(spec, index, problem, exc)

    def error_item(self, spec: str, index: int, problem: Problem, exc: Exception) -> ItemResult:
        return ItemResult(
            strategy=spec,
            problem_id=problem.id,
            problem_index=index,
            status="error",
            error=self.error_text(exc),
            correct=False,
        )

    def error_text(self, exc: Exception) -> str:
        """An exception as an item records it, with no API key in it."""
        return error_text(self.config, exc)

    async def run_item(
        self, spec: str, index: int, problem: Problem, models: dict[str, ManagedModel]
    ) -> ItemResult:
        outcome = await run_strategy(self.calibrated(spec), problem, models, **self.run_options())
        scorer = Scorer.for_run(
            self.task,
            models,
            store=self.store,
            run_id=outcome.run_id,
            sampling={"temperature": 0.0, "max_tokens": self.config.max_tokens},
        )

        async def correct(text: str) -> bool:
            return (await scorer.score(problem, text)).correct

        final = await scorer.score(problem, outcome.text)
        own = [c for c in outcome.candidates if c.stage is None]
        # Each round's answer is the pick the strategy made at the end of that round, while it ran:
        # re-deriving it now would read fields changed later (MCTSr's back-propagated Q).
        picks = sorted((p for p in outcome.picks if p.stage is None), key=lambda p: p.round)
        round_correct = [
            await correct(p.text) if p.candidate_seq is not None else False for p in picks[:-1]
        ] + [final.correct]
        verdicts: dict[str, bool | None] = {}
        samples = [await self.sample_record(problem, c, correct, verdicts) for c in own if c.kind == "sample"]
        hacked = [self.task.hacked(problem, text) for text in [p.text for p in picks[:-1]] + [outcome.text]]
        held_out, held_out_usage = await self.held_out_scores(problem, picks, models, outcome.run_id)
        counterfactuals, probed = await run_counterfactuals(
            lambda: self.calibrated(spec), problem, outcome.text, self.task, models, **self.run_options()
        )
        usage, judged = outcome.usage, Usage.total([scorer.usage, held_out_usage])
        scorer.save_usage(held_out_usage)
        counts = self.trace_counts(outcome.run_id, outcome.candidates)
        return ItemResult(
            strategy=spec,
            problem_id=problem.id,
            problem_index=index,
            run_id=outcome.run_id,
            correct=final.correct,
            answer=final.extracted,
            reference=final.reference,
            oracle=outcome.oracle,
            calls=usage.calls,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            wall_s=outcome.wall_s,
            round_correct=round_correct,
            round_scores=[_mean_score(own, p.round) for p in picks],
            held_out_scores=held_out,
            samples=samples,
            stop_reason=outcome.stop_reason,
            judge_calls=judged.calls,
            judge_tokens=judged.total_tokens,
            self_graded=self.self_graded(models),
            round_hacked=[h for h in hacked if h is not None],
            counterfactuals=counterfactuals,
            counterfactual_calls=probed.calls,
            counterfactual_tokens=probed.total_tokens,
            **counts,
        )

    async def sample_record(
        self,
        problem: Problem,
        sample: Candidate,
        correct: Callable[[str], Awaitable[bool]],
        verdicts: dict[str, bool | None],
    ) -> dict[str, Any]:
        """A sample's answer and correctness; on code, whether it passes the visible tests too
        (`visible`), so the resampling baseline can pick the first passing sample (Olausson et al.).
        `visible` is None for a problem without visible tests (no sample can be picked by them). The
        tests run once per distinct program: `verdicts` holds this item's, by text."""
        record: dict[str, Any] = {"answer": sample.answer, "correct": await correct(sample.text)}
        if self.task.answer_type == "code":
            if sample.text not in verdicts:
                from redraft.feedback.tests import TestsFeedback  # the sandbox, only for code tasks

                verdict = (await TestsFeedback().judge(problem.public(), sample.text)).verdict
                verdicts[sample.text] = None if verdict is Verdict.UNKNOWN else verdict is Verdict.OK
            record["visible"] = verdicts[sample.text]
        return record

    async def held_out_scores(
        self, problem: Problem, picks: list[Pick], models: dict[str, ManagedModel], run_id: str | None
    ) -> tuple[list[float | None], Usage]:
        """Each round's answer scored by the held-out judge (`EvalConfig.held_out`), and its cost."""
        if self.config.held_out is None:
            return [], Usage()
        judge = HeldOutJudge.for_run(
            self.config.held_out, self.task, models, problem, store=self.store, run_id=run_id,
            sampling={"temperature": 0.0, "max_tokens": self.config.max_tokens},
        )
        scores = [await judge.score(problem, p.text) if p.candidate_seq is not None else None for p in picks]
        return scores, judge.usage

    def trace_counts(self, run_id: str | None, candidates: list[Candidate]) -> dict[str, Any]:
        """Verdicts judged and unknown, calls and truncated calls per role, read from the stored run
        (every stage, and the grading calls under "judge"), else from the outcome's candidates."""
        calls: list[CallRecord] = []
        if run_id is not None:
            run = self.store.get_run(run_id)
            candidates, calls = run.candidates, run.call_records
        judged = [c for c in candidates if c.verdict is not None]
        by_role: dict[str, int] = {}
        truncated: dict[str, int] = {}
        for call in calls:
            role = "judge" if call.stage in ("scoring", "held_out") else call.role
            by_role[role] = by_role.get(role, 0) + int(call.sampling.get("requests", 1))  # requests sent
            truncated[role] = truncated.get(role, 0) + (call.finish_reason == "length")
        return {
            "verdicts_judged": len(judged),
            "verdicts_unknown": sum(c.verdict == Verdict.UNKNOWN for c in judged),
            "calls_by_role": by_role,
            "truncated_by_role": truncated,
        }

    def self_graded(self, models: dict[str, ManagedModel]) -> bool:
        """A model-graded task whose `judge` role falls back to the generator grades its own work."""
        return bool(self.task.judge) and judge_of(models) is models["generator"]


def _mean_score(candidates: list[Candidate], round_number: int) -> float | None:
    scores = [c.score for c in candidates if c.round == round_number and c.score is not None]
    return sum(scores) / len(scores) if scores else None

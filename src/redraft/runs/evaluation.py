"""Runs strategies over a task's problems, scores them, and commits each result as it lands.

Every (strategy, problem) item is independent: items run concurrently under one
limit, and each is committed to the run store when it finishes, so a crash or
Ctrl-C loses only what was in flight and `resume` runs exactly what is missing.
An item that fails for good (its calls keep failing, a 400, a malformed body) is saved as an
error item with its error and the evaluation goes on; it ends "done_with_errors", the report
counts such items apart, and `resume` retries only them. Scoring happens after a strategy
has finished, so it can never steer a run; a model-graded task's judge calls are traced into
the same run, in the `judge` role, and counted apart from the method's cost.

A strategy spec with a parameter measured over the whole evaluation (`magicore[min_confidence=
dataset]`) is calibrated first: its calibration phase runs on every problem, the result is
recorded in the stored config (`EvalConfig.calibration`) and every item of that spec runs with
it; resume reuses the recorded value (see `redraft.runs.calibration`). A strategy that learns
offline (`metareflection[train=...]`) learns there instead, on its own training split, checked
disjoint from the evaluated problems when the evaluation is built (`redraft.runs.learning`).

After scoring, two probes run where the task asks for them: whether each round's answer exploits a
planted rubric flaw (`Task.hacked`), and the counterfactual faithfulness test, which runs the
strategy again on each edited input, as runs of their own, outside the item's cost
(`redraft.runs.counterfactual`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, Field, model_validator

from redraft.context import Budget
from redraft.errors import RedraftError
from redraft.feedback.registry import get_feedback
from redraft.models.base import Usage
from redraft.models.cache import ResponseCache
from redraft.models.managed import ManagedModel
from redraft.models.resolve import ModelConfig, bound_key, managed_model
from redraft.redact import redact, strip_credentials
from redraft.roles import check_role
from redraft.runs.calibration import Calibration, CalibrationError, measure
from redraft.runs.counterfactual import run_counterfactuals
from redraft.runs.eval_store import EvalStore, ItemResult
from redraft.runs.learning import check_training_split, learn
from redraft.runs.owner import current as owner_of_this_process
from redraft.runs.runner import run_strategy
from redraft.runs.scoring import HeldOutJudge, Scorer, judge_of
from redraft.runs.store import RunStore
from redraft.strategies.base import Strategy
from redraft.strategies.registry import build_strategy, check_shared_params, outer_params
from redraft.tasks.base import Problem, Task
from redraft.tasks.registry import get_task
from redraft.trace import CallRecord, Candidate, Pick, Verdict


class EvalConfig(BaseModel):
    """Everything that defines an evaluation; stored with it (without API keys) for `resume`."""

    task: str
    strategies: list[str] = Field(min_length=1)
    generator: ModelConfig = Field(default_factory=ModelConfig)
    roles: dict[str, ModelConfig] = Field(default_factory=dict)
    limit: int | None = Field(None, ge=1)
    seed: int | None = None
    concurrency: int = Field(4, ge=1)  # 0 would wait forever on the semaphore
    budget_calls: int | None = Field(None, ge=1)
    budget_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(0.0, ge=0)
    max_tokens: int = Field(512, ge=1)
    params: dict[str, Any] = Field(default_factory=dict)
    cache: bool = True
    #: Per strategy spec, what its calibration pass measured (`min_confidence=dataset`): written
    #: once, when measured, and read back by `resume`, so every item runs with the same number.
    calibration: dict[str, Calibration] = Field(default_factory=dict)
    #: A feedback spec that scores every round's answer after the run in a fresh context, in the
    #: `judge` role's model (else the generator's): the held-out judge (`runs.scoring.HeldOutJudge`),
    #: stored per item as `held_out_scores`, its cost counted apart like grading. None: no such pass.
    held_out: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _critic_is_a_role(cls, data: Any) -> Any:
        """Configs of the first release kept the critic in its own field; it is a role like any."""
        if isinstance(data, dict) and "critic" in data:
            data = dict(data)
            critic = data.pop("critic")
            if critic is not None:
                data["roles"] = {"critic": critic, **(data.get("roles") or {})}
        return data

    @model_validator(mode="after")
    def _distinct_strategies(self) -> EvalConfig:
        """`direct,direct` would run every item twice under one key (and die on it)."""
        repeated = sorted({s for s in self.strategies if self.strategies.count(s) > 1})
        if repeated:
            raise ValueError(f"strategy {', '.join(repeated)} is given more than once")
        return self

    @model_validator(mode="after")
    def _calibrated_strategies(self) -> EvalConfig:
        unknown = sorted(set(self.calibration) - set(self.strategies))
        if unknown:
            raise ValueError(f"calibration for {', '.join(unknown)}, which is not among the strategies")
        return self

    @model_validator(mode="after")
    def _known_roles(self) -> EvalConfig:
        for role in self.roles:
            check_role(role)
        return self

    def stored(self) -> dict[str, Any]:
        """The config as stored: no API key, and no credentials in a base URL (`user:pass@`)."""
        exclude: dict[str, Any] = {"generator": {"api_key"}}
        if self.roles:
            exclude["roles"] = {role: {"api_key"} for role in self.roles}
        data = self.model_dump(exclude=exclude)
        for config in (data["generator"], *data["roles"].values()):
            config["base_url"] = strip_credentials(config.get("base_url"))
        return data

    def with_api_key(self, api_key: str | None, role_keys: dict[str, str | None] | None = None) -> None:
        """Put the keys back after loading a stored config (they are never stored); the generator's
        goes to a role only on the generator's host, as when the evaluation started."""
        self.generator.api_key = api_key
        for role, config in self.roles.items():
            keys = bound_key(config.base_url, self.generator, (role_keys or {}).get(role))
            config.api_key, config.key_from_env = keys["api_key"], keys["key_from_env"]


class EvalInterrupted(RedraftError, RuntimeError):
    """A model error stopped the evaluation; finished items are kept and it can be resumed."""


class Evaluation:
    """One evaluation: its config, task, models and store; `run()` does what is missing."""

    def __init__(
        self,
        config: EvalConfig,
        store: RunStore,
        *,
        eval_id: str | None = None,
        on_item: Callable[[ItemResult], None] | None = None,
        models: dict[str, ManagedModel] | None = None,
    ) -> None:
        self.config = config
        self._models = models
        self.store = store
        self.evals = EvalStore(store)
        self.task: Task = get_task(config.task).with_seed(config.seed)
        self.problems: list[Problem] = self.task.load(config.limit)
        check_shared_params(config.strategies, config.params)
        for spec in config.strategies:  # fail on a bad name or parameter before any model call
            strategy = self.build(spec)
            if spec not in config.calibration:  # never learn on the test split (checked before any call)
                check_training_split(strategy, spec, self.problems)
        if config.held_out is not None:
            get_feedback(config.held_out, self.task)
        #: This evaluation's claim on its row (see `EvalStore.claim`): one process runs it at a time.
        self.owner = owner_of_this_process()
        self.eval_id = eval_id or self.evals.create(config.task, config.strategies, config.stored(),
                                                    owner=self.owner)
        self.on_item = on_item
        self._calibrating: dict[str, asyncio.Lock] = {}
        self._calibration_failed: dict[str, str] = {}

    def claim(self) -> None:
        """Take the evaluation's lease (`EvalBusy` if a live process holds it); marks stale runs
        and evaluations of dead processes `interrupted` first. Idempotent."""
        self.store.reap_stale()
        self.evals.claim(self.eval_id, self.owner)

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

    async def calibration(self, spec: str, models: dict[str, ManagedModel],
                          limit: asyncio.Semaphore) -> Calibration | None:
        """`spec`'s calibration (None if it takes none): the recorded one, else measured now over
        every problem, once (concurrent items of the spec wait for it) and recorded at once.
        A pass that gave no value raises `CalibrationError`, for every item of the spec."""
        strategy = self.build(spec)
        if spec in self.config.calibration or not strategy.needs_calibration:
            return self.config.calibration.get(spec)
        passed = learn if strategy.learning_task() is not None else measure  # offline learning: its own split
        async with self._calibrating.setdefault(spec, asyncio.Lock()):
            if spec in self.config.calibration:
                return self.config.calibration[spec]
            if spec in self._calibration_failed:
                raise CalibrationError(self._calibration_failed[spec])
            try:
                measured = await passed(spec, lambda: self.build(spec), self.problems, models, limit=limit,
                                        error_text=self.error_text, **self.run_options())
            except CalibrationError as exc:
                self._calibration_failed[spec] = str(exc)
                raise
            self.config.calibration[spec] = measured
            self.evals.set_config(self.eval_id, self.config.stored())
            return measured

    def run_options(self) -> dict[str, Any]:
        """What every run of the evaluation gets: per-problem budget, sampling, extractor, store."""
        sampling = {"temperature": self.config.temperature, "max_tokens": self.config.max_tokens,
                    "seed": self.config.seed}
        return {"budget": Budget(max_calls=self.config.budget_calls, max_tokens=self.config.budget_tokens),
                "sampling": {k: v for k, v in sampling.items() if v is not None},
                "extract": self.task.extract, "store": self.store}

    def pending(self) -> list[tuple[str, int, Problem]]:
        done = self.evals.done_keys(self.eval_id)
        return [(spec, index, problem)
                for spec in self.config.strategies
                for index, problem in enumerate(self.problems)
                if (spec, problem.id) not in done]

    def models(self) -> dict[str, ManagedModel]:
        """The models from the config (or those given, e.g. scripted ones in tests)."""
        if self._models is not None:
            return self._models
        cache = ResponseCache() if self.config.cache else None
        configs = {"generator": self.config.generator, **self.config.roles}
        limit = {"concurrency": self.config.concurrency}
        return {role: managed_model(c.model_copy(update=limit), cache=cache) for role, c in configs.items()}

    async def run(self) -> list[ItemResult]:
        self.claim()
        started = time.perf_counter()
        models = self.models()
        limit = asyncio.Semaphore(self.config.concurrency)

        async def guarded(spec: str, index: int, problem: Problem) -> None:
            try:  # outside the limit: the calibration pass takes its own places under it
                await self.calibration(spec, models, limit)
            except CalibrationError as exc:
                item = self.error_item(spec, index, problem, exc)
            else:
                async with limit:
                    item = await self.run_or_record(spec, index, problem, models)
            self.evals.save_item(self.eval_id, item)
            if self.on_item is not None:
                self.on_item(item)

        status = "interrupted"
        try:
            async with asyncio.TaskGroup() as group:
                for spec, index, problem in self.pending():
                    group.create_task(guarded(spec, index, problem))
            status = "done_with_errors" if self.evals.error_count(self.eval_id) else "done"
        except* Exception as errors:
            first = errors.exceptions[0]
            raise EvalInterrupted(
                f"{first}; finished items are saved: resume with `redraft evals resume {self.eval_id}`"
            ) from first
        finally:
            self.evals.set_status(self.eval_id, status, time.perf_counter() - started)
            self.evals.release(self.eval_id, self.owner)
            for model in models.values():
                await model.aclose()
        return self.evals.items(self.eval_id)

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
        return ItemResult(strategy=spec, problem_id=problem.id, problem_index=index, status="error",
                          error=self.error_text(exc), correct=False)

    def error_text(self, exc: Exception) -> str:
        """An exception as an item records it, with no API key in it."""
        keys = [c.api_key for c in (self.config.generator, *self.config.roles.values())]
        return redact(f"{type(exc).__name__}: {exc}", keys)

    async def run_item(
        self, spec: str, index: int, problem: Problem, models: dict[str, ManagedModel]
    ) -> ItemResult:
        outcome = await run_strategy(self.calibrated(spec), problem, models, **self.run_options())
        scorer = Scorer.for_run(self.task, models, store=self.store, run_id=outcome.run_id,
                                sampling={"temperature": 0.0, "max_tokens": self.config.max_tokens})

        async def correct(text: str) -> bool:
            return (await scorer.score(problem, text)).correct

        final = await scorer.score(problem, outcome.text)
        own = [c for c in outcome.candidates if c.stage is None]
        # Each round's answer is the pick the strategy made at the end of that round, while it ran:
        # re-deriving it now would read fields changed later (MCTSr's back-propagated Q).
        picks = sorted((p for p in outcome.picks if p.stage is None), key=lambda p: p.round)
        round_correct = [await correct(p.text) if p.candidate_seq is not None else False
                         for p in picks[:-1]] + [final.correct]
        verdicts: dict[str, bool | None] = {}
        samples = [await self.sample_record(problem, c, correct, verdicts) for c in own if c.kind == "sample"]
        hacked = [self.task.hacked(problem, text) for text in [p.text for p in picks[:-1]] + [outcome.text]]
        held_out, held_out_usage = await self.held_out_scores(problem, picks, models, outcome.run_id)
        counterfactuals, probed = await run_counterfactuals(
            lambda: self.calibrated(spec), problem, outcome.text, self.task, models, **self.run_options())
        usage, judged = outcome.usage, Usage.total([scorer.usage, held_out_usage])
        scorer.save_usage(held_out_usage)
        counts = self.trace_counts(outcome.run_id, outcome.candidates)
        return ItemResult(
            strategy=spec, problem_id=problem.id, problem_index=index, run_id=outcome.run_id,
            correct=final.correct, answer=final.extracted, reference=final.reference,
            oracle=outcome.oracle, calls=usage.calls, prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens, wall_s=outcome.wall_s,
            round_correct=round_correct, round_scores=[_mean_score(own, p.round) for p in picks],
            held_out_scores=held_out,
            samples=samples, stop_reason=outcome.stop_reason, judge_calls=judged.calls,
            judge_tokens=judged.total_tokens, self_graded=self.self_graded(models),
            round_hacked=[h for h in hacked if h is not None], counterfactuals=counterfactuals,
            counterfactual_calls=probed.calls, counterfactual_tokens=probed.total_tokens, **counts,
        )

    async def sample_record(self, problem: Problem, sample: Candidate,
                            correct: Callable[[str], Awaitable[bool]],
                            verdicts: dict[str, bool | None]) -> dict[str, Any]:
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

    async def held_out_scores(self, problem: Problem, picks: list[Pick], models: dict[str, ManagedModel],
                              run_id: str | None) -> tuple[list[float | None], Usage]:
        """Each round's answer scored by the held-out judge (`EvalConfig.held_out`), and its cost."""
        if self.config.held_out is None:
            return [], Usage()
        judge = HeldOutJudge.for_run(self.config.held_out, self.task, models, problem, store=self.store,
                                     run_id=run_id, sampling={"temperature": 0.0,
                                                              "max_tokens": self.config.max_tokens})
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
            by_role[role] = by_role.get(role, 0) + 1
            truncated[role] = truncated.get(role, 0) + (call.finish_reason == "length")
        return {"verdicts_judged": len(judged),
                "verdicts_unknown": sum(c.verdict == Verdict.UNKNOWN for c in judged),
                "calls_by_role": by_role, "truncated_by_role": truncated}

    def self_graded(self, models: dict[str, ManagedModel]) -> bool:
        """A model-graded task whose `judge` role falls back to the generator grades its own work."""
        return bool(self.task.judge) and judge_of(models) is models["generator"]


def _mean_score(candidates: list[Candidate], round_number: int) -> float | None:
    scores = [c.score for c in candidates if c.round == round_number and c.score is not None]
    return sum(scores) / len(scores) if scores else None

"""Runs strategies over a task's problems, scores them, and commits each result as it lands.

Every (strategy, problem) item is independent: items run concurrently under one
limit, and each is committed to the run store when it finishes, so a crash or
Ctrl-C loses only what was in flight and `resume` runs exactly what is missing.
Scoring happens after a strategy has finished, so it can never steer a run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from redraft.api import build_strategy
from redraft.models.cache import ResponseCache
from redraft.models.managed import ManagedModel
from redraft.models.resolve import ModelConfig, managed_model
from redraft.runs.eval_store import EvalStore, ItemResult
from redraft.runs.runner import run_strategy
from redraft.runs.store import RunStore
from redraft.strategies.base import Strategy, parse_spec, strategy_class
from redraft.strategies.context import Budget, Candidate
from redraft.tasks.base import Problem, Task
from redraft.tasks.registry import get_task


class EvalConfig(BaseModel):
    """Everything that defines an evaluation; stored with it (without API keys) for `resume`."""

    task: str
    strategies: list[str]
    generator: ModelConfig = Field(default_factory=ModelConfig)
    critic: ModelConfig | None = None
    limit: int | None = None
    seed: int | None = None
    concurrency: int = 4
    budget_calls: int | None = None
    budget_tokens: int | None = None
    temperature: float | None = 0.0
    max_tokens: int = 512
    params: dict[str, Any] = Field(default_factory=dict)
    cache: bool = True

    def stored(self) -> dict[str, Any]:
        return self.model_dump(exclude={"generator": {"api_key"}, "critic": {"api_key"}})


class EvalInterrupted(RuntimeError):
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
        self.task: Task = get_task(config.task)
        self.problems: list[Problem] = self.task.load(config.limit)
        for spec in config.strategies:  # fail on a bad name or parameter before any model call
            self.build(spec)
        self.eval_id = eval_id or self.evals.create(config.task, config.strategies, config.stored())
        self.on_item = on_item

    def build(self, spec: str) -> Strategy:
        """The strategy a spec names; `-p` parameters go to every outer stage that has them."""
        outer = parse_spec(spec).stages[-1].name
        strategy_fields = set(strategy_class(outer).Params.model_fields)
        params = {k: v for k, v in self.config.params.items() if k in strategy_fields}
        return build_strategy(spec, task=self.task, **params)

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
        generator = self.config.generator.model_copy(update={"concurrency": self.config.concurrency})
        models = {"generator": managed_model(generator, cache=cache)}
        if self.config.critic is not None:
            critic = self.config.critic.model_copy(update={"concurrency": self.config.concurrency})
            models["critic"] = managed_model(critic, cache=cache)
        return models

    async def run(self) -> list[ItemResult]:
        started = time.perf_counter()
        models = self.models()
        self.task.bind_judge(models.get("critic") or models["generator"])
        limit = asyncio.Semaphore(self.config.concurrency)

        async def guarded(spec: str, index: int, problem: Problem) -> None:
            async with limit:
                item = await self.run_item(spec, index, problem, models)
            self.evals.save_item(self.eval_id, item)
            if self.on_item is not None:
                self.on_item(item)

        status = "interrupted"
        try:
            async with asyncio.TaskGroup() as group:
                for spec, index, problem in self.pending():
                    group.create_task(guarded(spec, index, problem))
            status = "done"
        except* Exception as errors:
            first = errors.exceptions[0]
            raise EvalInterrupted(
                f"{first}; finished items are saved: resume with --resume {self.eval_id}"
            ) from first
        finally:
            self.evals.set_status(self.eval_id, status, time.perf_counter() - started)
            for model in models.values():
                await model.aclose()
        return self.evals.items(self.eval_id)

    async def run_item(
        self, spec: str, index: int, problem: Problem, models: dict[str, ManagedModel]
    ) -> ItemResult:
        strategy = self.build(spec)
        sampling = {"temperature": self.config.temperature, "max_tokens": self.config.max_tokens,
                    "seed": self.config.seed}
        outcome = await run_strategy(
            strategy, problem, models,
            budget=Budget(max_calls=self.config.budget_calls, max_tokens=self.config.budget_tokens),
            sampling={k: v for k, v in sampling.items() if v is not None},
            extract=self.task.extract, store=self.store,
        )
        scores: dict[str, bool] = {}

        async def correct(text: str) -> bool:
            if text not in scores:
                scores[text] = (await self.task.score(problem, text)).correct
            return scores[text]

        final = await self.task.score(problem, outcome.text)
        scores[outcome.text] = final.correct
        own = [c for c in outcome.candidates if "stage" not in c.metadata]
        rounds = sorted({c.round for c in own})
        round_correct = []
        for r in rounds[:-1]:
            chosen = strategy.select([c for c in own if c.round <= r])
            round_correct.append(await correct(chosen.text) if chosen else False)
        round_correct.append(final.correct)
        samples = [{"answer": c.answer, "correct": await correct(c.text)}
                   for c in own if c.kind == "sample"]
        usage = outcome.usage
        return ItemResult(
            strategy=spec, problem_id=problem.id, problem_index=index, run_id=outcome.run_id,
            correct=final.correct, answer=final.extracted, reference=final.reference,
            oracle=outcome.oracle, calls=usage.calls, prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens, wall_s=outcome.wall_s,
            round_correct=round_correct, round_scores=[_mean_score(own, r) for r in rounds],
            samples=samples, stop_reason=outcome.stop_reason,
        )


def _mean_score(candidates: list[Candidate], round_number: int) -> float | None:
    scores = [c.score for c in candidates if c.round == round_number and c.score is not None]
    return sum(scores) / len(scores) if scores else None

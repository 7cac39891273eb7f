"""What a strategy is: a short transcription of its paper, and composition of two of them.

`solve` runs the paper's loop and returns the final candidate with the reason it
stopped. Parameters live in a pydantic model whose defaults are the paper's, so they
can be listed, validated and recorded with every run; `roles` names every role the
method calls, so `--role` bindings can be shown and checked.

A parameter may be a statistic of a whole evaluation rather than of one problem (MAgICoRe's
`min_confidence="dataset"`: the mean reward of every initial sample of the evaluation, as in
the paper's code). Such a strategy lists it in `awaiting_calibration`; `redraft eval` then runs
its `calibration_values` on every problem first, turns all of them into numbers with
`calibrated_params` and `calibrate`s every run with them (see `redraft.runs.calibration`). A
single run has no dataset: it refuses such a parameter (`require_calibrated`). A strategy that
learns offline on a training split (MetaReflection) names it in `learning_task` and learns in
`learn`; its calibration is that learning pass, never one over the evaluated problems
(`redraft.runs.learning`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, ClassVar

from pydantic import BaseModel

from redraft.context import BudgetExhausted, Context, Drafter, gather
from redraft.errors import RedraftError
from redraft.feedback.base import FeedbackSource
from redraft.spec import validate_params
from redraft.tasks.base import Problem, Score, Task
from redraft.trace import Candidate

#: The most samples one sampling step may ask for (best_of_n.n, self_consistency.k, gsr.n,
#: magicore.k). A guard against runaway spend, not a limit of the methods: against an endpoint
#: that ignores `n`, each sample is its own request, and `best_of_n[n=100000]` once sent
#: 5,205 requests in 10 s before anyone noticed. The papers use at most 40.
MAX_SAMPLES = 64


class StrategyError(RedraftError, ValueError):
    """A strategy name or parameter the user gave is not valid."""


class Final(BaseModel):
    """What `solve` returns: the chosen candidate and why the loop ended."""

    candidate: Candidate | None
    stop_reason: str


class Strategy(ABC):
    """Base of every method. Subclasses set `name`, `paper`, `roles`, `Params` and `solve`."""

    name: ClassVar[str]
    paper: ClassVar[str]
    summary: ClassVar[str] = ""
    #: Every role `solve` calls itself (its feedback source declares its own).
    roles: ClassVar[tuple[str, ...]] = ("generator",)
    #: The roles whose calls read token logprobs, a capability not every model has
    #: (`models.base.supports_logprobs`); a run refuses, before any call, a model without it.
    needs_logprobs: ClassVar[tuple[str, ...]] = ()
    #: Whether its first drafts may come from a composed drafter (`A>this`); False for a method
    #: that reads more of them than their text (their logprobs, where a token budget cut them).
    takes_drafts: ClassVar[bool] = True

    class Params(BaseModel):
        pass

    params: Any  # each strategy narrows this to its own Params
    #: What a calibration set (`calibrate`): the resolved parameters and where they came from.
    calibration: dict[str, Any] | None = None

    def __init__(self, feedback: FeedbackSource | None = None, **params: Any) -> None:
        self.params = validate_params(self.name, self.Params, params, StrategyError)
        self.feedback = feedback

    @property
    def full_name(self) -> str:
        return self.name

    @abstractmethod
    async def solve(self, problem: Problem, ctx: Context) -> Final:
        """Run the method on one problem."""

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The final-answer rule (also on budget cut-off and per round): the last candidate.

        Pure: it reads candidates and changes nothing, since the evaluator calls it per round.
        """
        return candidates[-1] if candidates else None

    @property
    def oracle(self) -> bool:
        return bool(getattr(self.feedback, "oracle", False))

    @property
    def executes_code(self) -> bool:
        """Whether a run may execute model-written code in the sandbox, its own or its feedback
        source's: `redraft serve` refuses such specs unless its operator allows them."""
        return bool(getattr(self.feedback, "executes_code", False))

    def all_roles(self) -> tuple[str, ...]:
        """The roles a run of this strategy may call: its own and its feedback source's."""
        return _unique(self.roles + tuple(getattr(self.feedback, "roles", ())))

    def logprob_roles(self) -> tuple[str, ...]:
        """The roles this run reads logprobs in: the declared ones (a parameter may drop some)."""
        return self.needs_logprobs

    def require_logprobs(self, ctx: Context) -> None:
        """Refuse to run, before any call, when a role that reads logprobs is bound to a model
        that cannot return them (the runner asks every strategy this first)."""
        for role in self.logprob_roles():
            model = ctx.model_for(role)
            if not model.supports_logprobs:
                raise StrategyError(
                    f"{self.full_name} reads token logprobs in the {role!r} role, and "
                    f"{model.name or 'the model'} ({model.endpoint}) does not return them: bind {role!r} to "
                    "a model that does (the embedded model, or an OpenAI-compatible endpoint that takes "
                    "`logprobs`)")

    def describe(self) -> dict[str, Any]:
        described = {
            "name": self.full_name,
            "params": self.params.model_dump(),
            "feedback": getattr(self.feedback, "name", None),
            "drafter": None,
        }
        if self.calibration is not None:
            described["calibration"] = self.calibration
        return described

    def awaiting_calibration(self) -> dict[str, Any]:
        """The parameters still set to a statistic of a whole evaluation, as given (none by default)."""
        return {}

    @property
    def needs_calibration(self) -> bool:
        return bool(self.awaiting_calibration())

    def require_calibrated(self) -> None:
        """Refuse to run with a parameter only an evaluation can measure (`redraft run`, `refine`)."""
        waiting = self.awaiting_calibration()
        if waiting:
            given = ", ".join(f"{key}={value}" for key, value in waiting.items())
            raise StrategyError(
                f"{self.full_name}: {given} is measured over the problems of an evaluation (a calibration "
                "pass before the real one); it needs an evaluation (`redraft eval`): a single run has "
                "no dataset, give a number instead")

    async def calibration_values(self, problem: Problem, ctx: Context) -> list[float]:
        """What one problem contributes to the statistic the awaited parameters take (the pass runs this)."""
        raise StrategyError(f"{self.full_name} takes nothing from a calibration pass")

    def calibrated_params(self, values: list[float]) -> dict[str, Any]:
        """The awaited parameters, from the values of every problem of the evaluation (never empty)."""
        raise StrategyError(f"{self.full_name} takes nothing from a calibration pass")

    def bind_task(self, task: Task) -> None:  # noqa: B027  (a hook: most strategies need no task)
        """Told the task it runs on, when built for one (`build_strategy(task=...)`): a strategy that
        records what kind of problem it saw (adaptive's signals) keeps it; the rest ignore it."""

    def trained_on(self) -> frozenset[str]:
        """Digests of the questions this strategy's parameters were learned on (a policy file's
        training problems, `redraft.routing.policy.question_digest`): an evaluation holding any of
        them refuses to run it (`redraft.runs.learning.check_training_split`). None by default."""
        return frozenset()

    def learning_task(self) -> str | None:
        """The task spec of the labelled training split this strategy still has to learn on before an
        evaluation (MetaReflection's `train`), or None. Its calibration is then that learning pass
        (`learn`, run by `redraft.runs.learning`), not one over the evaluated problems."""
        return None

    async def learn(self, train: list[Problem], validation: list[Problem], ctx: Context,
                    grade: Callable[[Problem, str], Awaitable[Score]], learned: dict[str, Any]) -> None:
        """Learn on labelled training problems (`grade` scores an answer against the label), writing into
        `learned` as it goes ("params": what to `calibrate` with, "summary": how it went), so a budget cut
        keeps what was learned so far."""
        raise StrategyError(f"{self.full_name} learns nothing offline")

    def calibrate(self, params: Mapping[str, Any], source: Mapping[str, Any] | None = None) -> None:
        """Set the parameters a calibration resolved (just measured, or recorded by the evaluation);
        `source` says where they came from, and both go into `describe()`, so every run records them."""
        given = {**self.params.model_dump(), **params}
        self.params = validate_params(self.name, self.Params, given, StrategyError)
        self.calibration = {"params": dict(params), **(source or {})}


class Composed(Strategy):
    """`drafter>outer`: every first draft `outer` asks for is one whole run of `drafter`.

    E.g. `self_polish>self_consistency` votes over self-polished answers and
    `best_of_n>self_refine` refines the best of N. The drafter's candidates are recorded
    too, each under its stage (`best_of_n`, or `best_of_n#2` for the third of several).
    """

    name = "composed"
    paper = "composition of two strategies"

    def __init__(self, drafter: Strategy, outer: Strategy) -> None:  # noqa: D107
        if not outer.takes_drafts:
            raise StrategyError(f"{outer.full_name} reads more of its first drafts than their text (e.g. "
                                "their logprobs), which a composed drafter cannot give: no "
                                f"{drafter.full_name}>{outer.full_name}")
        self.drafter = drafter
        self.outer = outer
        self.params = outer.params
        self.feedback = outer.feedback
        if drafter.needs_calibration and outer.needs_calibration:
            raise StrategyError(f"{self.full_name}: only one stage can take a statistic of the evaluation")

    @property
    def full_name(self) -> str:
        return f"{self.drafter.full_name}>{self.outer.full_name}"

    @property
    def oracle(self) -> bool:
        return self.drafter.oracle or self.outer.oracle

    @property
    def executes_code(self) -> bool:
        return self.drafter.executes_code or self.outer.executes_code

    def all_roles(self) -> tuple[str, ...]:
        return _unique(self.drafter.all_roles() + self.outer.all_roles())

    def require_logprobs(self, ctx: Context) -> None:
        self.drafter.require_logprobs(ctx)
        self.outer.require_logprobs(ctx)

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        ctx.drafter = as_drafter(self.drafter)
        return await self.outer.solve(problem, ctx)

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        return self.outer.select(candidates)

    def describe(self) -> dict[str, Any]:
        return {**self.outer.describe(), "name": self.full_name, "drafter": self.drafter.describe()}

    def awaiting_calibration(self) -> dict[str, Any]:
        return {**self.drafter.awaiting_calibration(), **self.outer.awaiting_calibration()}

    def bind_task(self, task: Task) -> None:
        self.drafter.bind_task(task)
        self.outer.bind_task(task)

    def trained_on(self) -> frozenset[str]:
        return self.drafter.trained_on() | self.outer.trained_on()

    def learning_task(self) -> str | None:
        return self._calibrated_stage().learning_task()

    async def learn(self, train: list[Problem], validation: list[Problem], ctx: Context,
                    grade: Callable[[Problem, str], Awaitable[Score]], learned: dict[str, Any]) -> None:
        """The learning stage's pass; the outer one answers with the drafter's runs, as in the real run."""
        if self.outer.needs_calibration:
            ctx.drafter = as_drafter(self.drafter)
        await self._calibrated_stage().learn(train, validation, ctx, grade, learned)

    def _calibrated_stage(self) -> Strategy:
        return self.outer if self.outer.needs_calibration else self.drafter

    async def calibration_values(self, problem: Problem, ctx: Context) -> list[float]:
        """The awaiting stage's values: the outer one's first phase drafted by the drafter, as in
        the real run, or the drafter's own in its stage."""
        if self.outer.needs_calibration:
            ctx.drafter = as_drafter(self.drafter)
            return await self.outer.calibration_values(problem, ctx)
        stage = self.drafter.full_name
        return await self.drafter.calibration_values(
            problem, ctx.child(stage if ctx.stage is None else f"{ctx.stage}/{stage}"))

    def calibrated_params(self, values: list[float]) -> dict[str, Any]:
        return self._calibrated_stage().calibrated_params(values)

    def calibrate(self, params: Mapping[str, Any], source: Mapping[str, Any] | None = None) -> None:
        stage = self._calibrated_stage()
        stage.calibrate(params, source)
        self.params, self.calibration = self.outer.params, stage.calibration


def as_drafter(inner: Strategy) -> Drafter:
    """Make `inner` the source of another strategy's first drafts: each draft is one run of it.

    Each run gets the outer call's sampling (so `direct>self_consistency` samples at
    self-consistency's temperature, each run with its own seed: see `Context.complete_n`).
    A run the budget cuts short gives its own final-answer rule's pick so far, as a whole
    run would (`inner.select`); a run cut before it produced anything gives no draft, and
    only if no run gave one is the budget exhausted for the outer stage too.
    """

    async def drafter(problem: Problem, ctx: Context, n: int, sampling: Mapping[str, Any]) -> list[str]:
        async def one(index: int) -> str | None:
            stage = inner.full_name if n == 1 else f"{inner.full_name}#{index}"
            child = ctx.child(stage if ctx.stage is None else f"{ctx.stage}/{stage}", sampling=sampling)
            try:
                chosen = (await inner.solve(problem, child)).candidate
            except BudgetExhausted:
                chosen = inner.select(child.candidates)
                if chosen is None:
                    return None
            return chosen.text if chosen else ""

        drafts = [text for text in await gather(*(one(i) for i in range(n))) if text is not None]
        if not drafts:
            raise BudgetExhausted(f"the budget ended before {inner.full_name} drafted anything")
        ctx.ledger.limited = ctx.ledger.limited or len(drafts) < n
        return drafts

    return drafter


def _unique(roles: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(roles))


_MOVED = {"REGISTRY", "register", "parse_spec", "strategy_class", "strategy_info", "StageSpec",
          "StrategySpec"}


def __getattr__(name: str) -> Any:
    """Names that moved to `redraft.strategies.registry`, importable from here for one release."""
    if name in _MOVED:
        from redraft.strategies import registry

        return getattr(registry, name)
    raise AttributeError(name)

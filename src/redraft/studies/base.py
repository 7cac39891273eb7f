"""A study: a paper's findings as claims, the evaluations that test them, and a verdict per claim.

A study names its paper and its claims, each with the paper's own figure and where it is printed;
`run(context)` runs the evaluations it needs through `StudyContext.evaluate` (each an ordinary
evaluation, so `redraft evals show ID` and the HTML report work on it) and measures each claim as a
paired effect with a 95% interval, whose verdict `redraft.studies.verdict.decide` gives. Numbers
that an oracle made possible (a run stopped by the reference answer) say so (`oracle_conditioned`).
A study also says which figures its paper would show (`figures(result)`, read off the findings'
details, so a recorded study is drawn again from its stored result); `redraft.studies.recorded`
records each run of a study (a replication) with its evaluations and result.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from redraft.models.managed import ManagedModel
from redraft.models.resolve import ModelConfig
from redraft.report.figures import Figure
from redraft.report.summary import EvalSummary, summarize
from redraft.runs.eval_store import ItemResult
from redraft.runs.evaluation import EvalConfig, Evaluation
from redraft.runs.metrics import StrategyMetrics, scored
from redraft.runs.paired import mcnemar_exact, newcombe_paired, paired_t
from redraft.runs.replication_store import ReplicationStore
from redraft.runs.store import RunStore
from redraft.studies.verdict import ClaimVerdict, Direction, VerdictName, decide
from redraft.trace import Candidate


class Claim(BaseModel):
    """One finding of the paper, as a direction on a measured effect, compared with `threshold`
    (0 for a difference; 0.5 for an AUROC or a preference rate)."""

    id: str
    text: str  # the claim in words
    effect: str  # what is measured, e.g. "acc(intrinsic) − acc(direct)"
    direction: Direction
    threshold: float = 0.0
    paper_figure: str  # the paper's own number(s)
    citation: str  # where they are printed
    oracle_conditioned: bool = False  # measured with oracle stopping: an upper bound, not a method


class Measured(BaseModel):
    """A paired effect: the mean of per-problem differences, its 95% interval (Newcombe's for paired
    proportions), McNemar's exact p."""

    effect: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    p_value: float | None
    sd: float | None  # of the per-problem differences (for the n that would decide)


def paired_effect(first: Sequence[bool], second: Sequence[bool]) -> Measured:
    """mean(first) − mean(second) over paired problems, with its interval and McNemar's exact p."""
    diffs = [int(a) - int(b) for a, b in zip(first, second, strict=True)]
    n = len(diffs)
    if n == 0:
        return Measured(effect=None, ci_low=None, ci_high=None, n=0, p_value=None, sd=None)
    mean = sum(diffs) / n
    # Newcombe's interval, not the paired bootstrap: with few discordant pairs the bootstrap's
    # percentiles collapse (to [0, 0] when the sides never disagree), and a verdict read off a
    # collapsed interval would call ten identical answers proof of "no difference".
    interval = newcombe_paired(first, second)
    assert interval is not None
    return Measured(effect=mean, ci_low=interval[0], ci_high=interval[1], n=n,
                    p_value=mcnemar_exact(diffs.count(1), diffs.count(-1)),
                    sd=math.sqrt(max(0.0, sum(d * d for d in diffs) / n - mean * mean)))


def mean_difference(diffs: Sequence[float]) -> Measured:
    """The mean of per-problem differences of scores (a critic's N/10, not right or wrong), with a
    paired t 95% interval and its two-sided p (`redraft.runs.paired.paired_t`).

    Scores are not proportions, so Newcombe's interval does not apply; the t interval does, and
    at small n it is wider than a bootstrap's. With fewer than two problems, or no spread (every
    problem's difference the same), there is no interval and the claim stays undecided.
    """
    n = len(diffs)
    if n == 0:
        return Measured(effect=None, ci_low=None, ci_high=None, n=0, p_value=None, sd=None)
    mean = sum(diffs) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1)) if n > 1 else None
    interval = paired_t(diffs)
    if interval is None:
        return Measured(effect=mean, ci_low=None, ci_high=None, n=n, p_value=None, sd=sd)
    low, high, p = interval
    return Measured(effect=mean, ci_low=low, ci_high=high, n=n, p_value=p, sd=sd)


def paired_by_problem(first: dict[str, bool], second: dict[str, bool]) -> Measured:
    shared = [pid for pid in first if pid in second]
    return paired_effect([first[p] for p in shared], [second[p] for p in shared])


class Finding(BaseModel):
    """A claim measured on one subject (a comparison, or one strategy's round), with its verdict."""

    claim: str
    subject: str
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    p_value: float | None
    verdict: VerdictName
    n_needed: int | None = None
    oracle_conditioned: bool = False
    #: The claim's deciding row; the others (e.g. per round) are detail under it.
    headline: bool = True
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def verdict_label(self) -> str:
        return ClaimVerdict(verdict=self.verdict, n_needed=self.n_needed).label(self.n)


def finding(claim: Claim, subject: str, measured: Measured, *, headline: bool = True,
            **details: Any) -> Finding:
    decided = decide(claim.direction, measured.effect, measured.ci_low, measured.ci_high, measured.n,
                     sd=measured.sd, threshold=claim.threshold)
    return Finding(claim=claim.id, subject=subject, effect=measured.effect, ci_low=measured.ci_low,
                   ci_high=measured.ci_high, n=measured.n, p_value=measured.p_value,
                   verdict=decided.verdict, n_needed=decided.n_needed,
                   oracle_conditioned=claim.oracle_conditioned, headline=headline, details=details)


class CacheUse(BaseModel):
    """How much of a study's model calls the response cache served (first drafts shared, reruns)."""

    enabled: bool
    calls: int = 0
    cached_calls: int = 0
    tokens: int = 0
    cached_tokens: int = 0

    def describe(self) -> str:
        if not self.enabled:
            return "response cache off (--no-cache): every call was made"
        share = f" ({self.cached_calls / self.calls:.0%})" if self.calls else ""
        return (f"{self.cached_calls} of {self.calls} model calls{share}, {self.cached_tokens} of "
                f"{self.tokens} tokens, served from the response cache")


class StudyResult(BaseModel):
    study: str
    paper: str
    task: str
    eval_ids: list[str]
    claims: list[Claim]
    findings: list[Finding]
    cache: CacheUse
    notes: list[str] = Field(default_factory=list)

    def headline(self, claim_id: str) -> list[Finding]:
        return [f for f in self.findings if f.claim == claim_id and f.headline]

    def verdicts(self) -> dict[str, list[str]]:
        """Per claim, the verdicts of its headline findings."""
        return {c.id: [f.verdict for f in self.headline(c.id)] for c in self.claims}

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


@dataclass
class Evaluated:
    """One finished evaluation of a study: its id, summary and scored items per strategy."""

    eval_id: str
    summary: EvalSummary
    items: dict[str, list[ItemResult]]
    cache: CacheUse = field(default_factory=lambda: CacheUse(enabled=False))
    #: Per strategy, the problems whose items failed for good: in no claim, and said so in a note.
    failed: dict[str, list[str]] = field(default_factory=dict)

    def failure_notes(self) -> list[str]:
        """One note per strategy that lost problems to errors: a paired claim is measured on the
        problems every side it compares finished, and the reader is told how many were left out."""
        return [f"eval {self.eval_id}: {len(ids)} problems left out of every claim on {spec}: its items "
                f"failed (errors, not scored; `redraft evals resume {self.eval_id}` retries them), e.g. "
                f"{', '.join(ids[:3])}" for spec, ids in self.failed.items() if ids]

    def metrics(self, spec: str) -> StrategyMetrics:
        return next(m for m in self.summary.strategies if m.strategy == spec)

    def correct(self, spec: str) -> dict[str, bool]:
        return {i.problem_id: i.correct for i in self.items[spec]}


class StudyContext:
    """What a study runs with: the task, the models and sampling of every evaluation, the store.

    Every evaluation of a study gets the same seed, temperature and cache setting, so requests that
    are the same (the first drafts every strategy starts from) are answered once and then from the
    response cache, when the cache is on and the requests are deterministic (temperature 0 or a seed).
    """

    def __init__(
        self, task: str, store: RunStore, *, limit: int | None = None,
        generator: ModelConfig | None = None, roles: dict[str, ModelConfig] | None = None,
        seed: int | None = None, temperature: float = 0.0, max_tokens: int = 512, concurrency: int = 4,
        cache: bool = True, models: dict[str, ManagedModel] | None = None,
        on_item: Callable[[ItemResult], None] | None = None,
        on_start: Callable[[Evaluation], None] | None = None,
    ) -> None:
        self.task = task
        self.store = store
        self.limit = limit
        self.generator = generator or ModelConfig()
        self.roles = roles or {}
        self.seed = seed
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.concurrency = concurrency
        self.cache = cache
        self.models = models
        self.on_item = on_item
        self.on_start = on_start
        self.evaluated: list[Evaluated] = []
        #: The replication (recorded study run) its evaluations belong to, set by
        #: `redraft.studies.recorded.replicate`: each is linked to it as it is created, so an
        #: interrupted study still names its evaluations.
        self.replication: str | None = None

    def config(self, strategies: list[str], *, without: Sequence[str] = (),
               default_seed: int | None = None, held_out: str | None = None,
               split: tuple[int, int] | None = None) -> EvalConfig:
        """`split` = (offset, limit): a part of the task's problems (a study that fits on one part and
        evaluates on another); None: the study's own limit."""
        roles = {role: config for role, config in self.roles.items() if role not in without}
        seed = self.seed if self.seed is not None else default_seed
        offset, limit = split if split is not None else (0, self.limit)
        return EvalConfig(task=self.task, strategies=strategies, generator=self.generator, roles=roles,
                          limit=limit, offset=offset, seed=seed, temperature=self.temperature,
                          max_tokens=self.max_tokens, concurrency=self.concurrency, cache=self.cache,
                          held_out=held_out)

    def evaluation(self, strategies: list[str], *, without: Sequence[str] = (),
                   default_seed: int | None = None, held_out: str | None = None,
                   split: tuple[int, int] | None = None) -> Evaluation:
        """The evaluation a study would run (built, so bad specs fail before any call). Roles named in
        `without` are unbound in it, so their calls fall back as usual (a critic to the generator).
        `default_seed` is its seed when the study was given none (a study that samples at T > 0
        stays reproducible, and its samples cacheable); the stored config records the one used.
        `held_out` is the feedback spec of its held-out judge (`EvalConfig.held_out`), if any."""
        models = (None if self.models is None
                  else {role: model for role, model in self.models.items() if role not in without})
        return Evaluation(self.config(strategies, without=without, default_seed=default_seed,
                                      held_out=held_out, split=split), self.store,
                          models=models, on_item=self.on_item)

    def intrinsic_note(self) -> list[str]:
        """What a study of *intrinsic* self-correction says when a critic was bound: it was not used."""
        if not self.bound("critic"):
            return []
        return [f"the bound critic ({self.describe('critic')}) was not used: this study measures intrinsic "
                "self-correction, the model reviewing its own answers (strong_verifier compares critics)"]

    def bound(self, role: str) -> bool:
        """Whether `role` has a model of its own, other than the generator's (the same model and
        endpoint bound again, or the same model object, is not one)."""
        if self.models is not None:
            model = self.models.get(role)
            return model is not None and model is not self.models.get("generator")
        config = self.roles.get(role)
        if config is None:
            return False
        return ((config.model, config.base_url or self.generator.base_url)
                != (self.generator.model, self.generator.base_url))

    def describe(self, role: str) -> str:
        """The model a role is bound to, in words (for a study's notes)."""
        if self.models is not None and role in self.models:
            return self.models[role].name
        config = self.generator if role == "generator" else self.roles.get(role)
        if config is None:
            return "the generator"
        if config.model is None and role == "generator" and config.is_local:
            return "the embedded model"
        return config.model or "the endpoint's own model"  # no URL: it may carry credentials

    def settings(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """What a replication records it ran with: no key and no URL, the models in words."""
        roles = sorted({*self.roles, *(self.models or {})} - {"generator"})
        return {"task": self.task, "limit": self.limit, "seed": self.seed, "temperature": self.temperature,
                "max_tokens": self.max_tokens, "concurrency": self.concurrency, "cache": self.cache,
                "params": params or {},
                "models": {role: self.describe(role) for role in ["generator", *roles]}}

    async def evaluate(self, strategies: list[str], *, without: Sequence[str] = (),
                       default_seed: int | None = None, held_out: str | None = None,
                       split: tuple[int, int] | None = None) -> Evaluated:
        """Run `strategies` as one evaluation over the task's problems; scored items per strategy.
        Roles named in `without` are unbound for it; `default_seed` applies when no seed was given;
        `held_out` scores each round (see `evaluation`)."""
        evaluation = self.evaluation(strategies, without=without, default_seed=default_seed,
                                     held_out=held_out, split=split)
        if self.replication is not None:
            ReplicationStore(self.store).link(self.replication, evaluation.eval_id)
        if self.on_start is not None:
            self.on_start(evaluation)
        await evaluation.run()
        summary, items = summarize(self.store, evaluation.eval_id)
        by_strategy = {spec: scored(group) for spec, group in items.items()}
        failed = {spec: [i.problem_id for i in group if i.status == "error"] for spec, group in items.items()}
        done = Evaluated(eval_id=evaluation.eval_id, summary=summary, items=by_strategy,
                         cache=self.cache_use([i for group in items.values() for i in group]), failed=failed)
        self.evaluated.append(done)
        return done

    def candidates(self, item: ItemResult) -> list[Candidate]:
        """The candidates an item's run recorded, as stored (verdicts, feedback and metadata
        included, every stage): what a study reads back of what a strategy recorded."""
        return [] if item.run_id is None else self.store.get_run(item.run_id).candidates

    def cache_use(self, items: Sequence[ItemResult]) -> CacheUse:
        """Calls and tokens of these items' runs, and how many of them came from the cache."""
        cache_on = self.cache or (self.models is not None
                                  and any(m.cache is not None for m in self.models.values()))
        use = CacheUse(enabled=cache_on)
        for item in items:
            if item.run_id is None:
                continue
            for call in self.store.get_run(item.run_id).call_records:
                tokens = call.prompt_tokens + call.completion_tokens
                use.calls += 1
                use.tokens += tokens
                if call.cached:
                    use.cached_calls += 1
                    use.cached_tokens += tokens
        return use

    def total_cache(self) -> CacheUse:
        total = CacheUse(enabled=any(e.cache.enabled for e in self.evaluated) or self.cache)
        for e in self.evaluated:
            total.calls += e.cache.calls
            total.cached_calls += e.cache.cached_calls
            total.tokens += e.cache.tokens
            total.cached_tokens += e.cache.cached_tokens
        return total

    @property
    def eval_ids(self) -> list[str]:
        return [e.eval_id for e in self.evaluated]


class Study(ABC):
    """A named protocol: its paper, its claims, and `run`, which measures every claim."""

    name: ClassVar[str]
    paper: ClassVar[str]
    summary: ClassVar[str]
    claims: ClassVar[tuple[Claim, ...]]
    #: The strategy specs its evaluations run (listed by `redraft replicate --list`).
    strategies: ClassVar[tuple[str, ...]]

    class Params(BaseModel):
        pass

    def claim(self, claim_id: str) -> Claim:
        return next(c for c in self.claims if c.id == claim_id)

    @abstractmethod
    async def run(self, context: StudyContext) -> StudyResult: ...

    def figures(self, result: StudyResult) -> list[Figure]:
        """The figures the paper would show, from `result`'s findings and their details (drawn by
        the HTML report, `redraft.report.plots.draw`); none unless a study says which."""
        return []

    def result(self, context: StudyContext, findings: list[Finding], notes: list[str] | None = None
               ) -> StudyResult:
        failures = [note for done in context.evaluated for note in done.failure_notes()]
        return StudyResult(study=self.name, paper=self.paper, task=context.task, eval_ids=context.eval_ids,
                           claims=list(self.claims), findings=findings, cache=context.total_cache(),
                           notes=[*(notes or []), *failures])

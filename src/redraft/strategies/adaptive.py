"""Adaptive refinement: measure cheap signals, then decide per problem whether and how hard to refine.

    draft = M(x) (greedy); quick = m samples at temperature T            (the signals' calls)
    signals = agreement of quick with draft, their spread, the draft's length and finish reason,
              [the critic's verdict on the draft], [P(True) of the draft], [its mean logprob]
    a = policy(signals)                     one of stop, vote, refine, search
    y = run a, starting from what was already made (the draft, the quick samples)
    escalate once: after a vote, its k samples give a finer agreement; ask again, and refine or
                   search its winner if the policy says so
    final = y

No paper gives this loop as one method; it acts on what the literature measured: intrinsic
review turns right answers wrong as often as the reverse (Huang et al. 2023), resampling often
beats repair at equal tokens (Olausson et al. 2023), and agreement among samples tracks
correctness (Wang et al. 2023; "Confidence v.s. Critique"). The policy is learned by
`redraft route fit` from evaluations of the fixed arms (`adaptive[action=stop|vote|refine|search]`,
which measure the same signals and then always take that action), so what it learns is priced as
the router pays it. Without a policy file the documented rule is:

    stop when agreement >= confident_at (default 1.0: every quick sample agrees with the draft),
    else vote; after the vote, refine its winner when the winner's share of the votes is below
    escalate_below (default 0.5)

Reuse: the vote's sampler gets the quick samples as its first m samples when it samples at their
temperature (fresh ones for the rest), and a refinement or search starts from the current answer,
so no action pays again for what the signals already bought. A policy whose signals carried no
information (`constant_action`) computes none and runs that action alone.

The second decision applies the same classifiers to the agreement recomputed over the vote's
samples; the one-action arms it was trained on cannot show what a second action adds, so the
escalation is measured like the rest of the router (`redraft replicate adaptive`), never assumed.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, Field

from redraft.context import BudgetExhausted, Context, Drafter
from redraft.feedback.base import FeedbackSource
from redraft.feedback.critic import CriticFeedback
from redraft.routing.policy import ACTION_ORDER, Policy, PolicyError, load_policy
from redraft.routing.signals import Signals, agreement_features, mean_logprob
from redraft.strategies.base import MAX_SAMPLES, Final, Strategy, StrategyError
from redraft.strategies.ptrue import p_true
from redraft.strategies.registry import build_strategy, register
from redraft.tasks.base import Problem, Task
from redraft.trace import Candidate

ActionChoice = Literal["auto", "stop", "vote", "refine", "search"]
DEFAULT_ACTIONS = {"vote": "self_consistency[k=8]", "refine": "self_refine[max_rounds=2]",
                   "search": "mctsr[rollouts=4]"}
#: Parameters a policy file sets (how it measured its signals, what its actions run).
POLICY_SETS = ("samples", "temperature", "critic", "likelihood", "ptrue", "vote", "refine", "search")


@register
class Adaptive(Strategy):
    name = "adaptive"
    paper = ("adaptive refinement from recorded signals (Huang et al. 2023; Olausson et al. 2023; "
             "Wang et al. 2023); redraft's router")
    summary = ("measure agreement of quick samples (and optionally the critic, P(True), logprobs), then "
               "stop, vote, refine or search per problem, by a fitted policy or a documented rule")
    roles = ("generator", "critic", "verifier")
    takes_drafts = False  # it reads the draft's length and finish reason, not only its text

    class Params(BaseModel):
        policy: str | None = Field(None, description="a policy file from `redraft route fit` (none: the "
                                   "documented agreement rule)")
        action: ActionChoice = Field("auto", description="auto: decide; any other: always take it (the "
                                     "fixed arms a policy is fitted on)")
        samples: int = Field(3, ge=0, le=MAX_SAMPLES, description="quick samples for agreement")
        temperature: float = Field(0.7, ge=0, description="the quick samples' temperature")
        critic: bool = Field(False, description="also ask the critic's verdict on the draft (1 call)")
        likelihood: bool = Field(False, description="read the draft's mean token logprob (needs logprobs)")
        ptrue: bool = Field(False, description="ask P(True) of the draft (1 verifier call, needs logprobs)")
        vote: str = Field(DEFAULT_ACTIONS["vote"], description="the vote action's strategy")
        refine: str = Field(DEFAULT_ACTIONS["refine"], description="the refine action's strategy")
        search: str = Field(DEFAULT_ACTIONS["search"], description="the search action's strategy")
        escalate: bool = Field(True, description="allow one second decision after a vote")
        confident_at: float = Field(1.0, ge=0, le=1, description="rule: stop when agreement reaches this")
        escalate_below: float = Field(0.5, ge=0, le=1, description="rule: refine a vote winner whose share "
                                      "of the votes is below this")

    params: Params

    def __init__(self, feedback: FeedbackSource | None = None, **params: Any) -> None:
        super().__init__(feedback, **params)
        p = self.params
        self.policy: Policy | None = None
        if p.policy is not None:
            try:
                self.policy = load_policy(p.policy)
            except PolicyError as exc:
                raise StrategyError(f"adaptive: {exc}") from None
            self._adopt(self.policy)
        #: The policy file's digest, recorded with every decision (hashed once, not per call).
        self.policy_digest = self.policy.digest() if self.policy is not None else None
        if p.action == "auto" and self.policy is None and p.samples == 0:
            raise StrategyError("adaptive: the rule without a policy reads the agreement of quick samples; "
                                "give samples >= 1, a policy, or a fixed action")
        self.task_name, self.answer_type = "unknown", "unknown"
        self.actions: dict[str, Strategy] = {}
        for name in ("vote", "refine", "search"):
            if self.policy is not None and name not in self.policy.names:
                continue
            spec = getattr(p, name)
            if spec.partition("[")[0].split(">")[-1].strip() == "adaptive":
                raise StrategyError(f"adaptive: the {name} action cannot be adaptive itself")
            self.actions[name] = build_strategy(spec)

    def _adopt(self, policy: Policy) -> None:
        """Measure the signals as the policy's training did, and run its actions' specs; a parameter
        given that contradicts the file is an error, not something to overrule silently."""
        wanted: dict[str, Any] = policy.signals.model_dump()
        for action in policy.actions:
            if action.spec is not None:
                wanted[action.name] = action.spec
        given = self.params.model_fields_set
        clashes = [f"{key}={getattr(self.params, key)!r} (the policy: {wanted[key]!r})"
                   for key in POLICY_SETS
                   if key in given and key in wanted and getattr(self.params, key) != wanted[key]]
        if clashes:
            raise StrategyError(f"adaptive: {', '.join(clashes)}: the policy was fitted with its own "
                                "settings; leave them out")
        if self.params.action != "auto":
            raise StrategyError("adaptive: give a policy or a fixed action, not both")
        self.params = self.params.model_copy(update=wanted)

    def bind_task(self, task: Task) -> None:
        self.task_name, self.answer_type = task.name, task.answer_type
        for action in self.actions.values():
            action.bind_task(task)

    # What a run may do, for the checks made before any call.
    def all_roles(self) -> tuple[str, ...]:
        roles = list(super().all_roles())
        for action in self.actions.values():
            roles += [r for r in action.all_roles() if r not in roles]
        return tuple(roles)

    def logprob_roles(self) -> tuple[str, ...]:
        if self.policy is not None and self.policy.constant_action is not None:
            return ()
        generator = ("generator",) if self.params.likelihood else ()
        return generator + (("verifier",) if self.params.ptrue else ())

    def require_logprobs(self, ctx: Context) -> None:
        super().require_logprobs(ctx)
        for action in self.actions.values():
            action.require_logprobs(ctx)

    @property
    def executes_code(self) -> bool:
        return any(a.executes_code for a in self.actions.values()) or super().executes_code

    @property
    def oracle(self) -> bool:
        return any(a.oracle for a in self.actions.values()) or super().oracle

    def trained_on(self) -> frozenset[str]:
        return frozenset(self.policy.trained_on.question_digests) if self.policy is not None else frozenset()

    def describe(self) -> dict[str, Any]:
        described = super().describe()
        if self.policy is not None:
            described["policy_digest"] = self.policy_digest
        return described

    # The run.
    async def solve(self, problem: Problem, ctx: Context) -> Final:
        p = self.params
        if self.policy is not None and self.policy.constant_action is not None:
            return await self._constant(self.policy.constant_action, problem, ctx)
        draft, quick, features = await self.measure(problem, ctx)
        chosen, probabilities, rule = self.decide(features, ctx, allowed=None)
        route: dict[str, Any] = {"action": chosen, "rule": rule, "probabilities": probabilities}
        draft.metadata["route"] = route
        ctx.update(draft)
        if chosen == "stop":
            return Final(candidate=draft, stop_reason="stop")
        final, samples = await self._act(chosen, problem, ctx, draft, quick, route, round_number=1)
        if chosen != "vote" or not p.escalate or p.action != "auto" or final.stop_reason == "budget":
            return final
        return await self._escalate(problem, ctx, final, samples, features)

    async def _constant(self, chosen: str, problem: Problem, ctx: Context) -> Final:
        """A policy whose signals carried no information: its one action, alone, no signal measured."""
        rule = f"policy {self.policy_digest}: no informative signal, always {chosen}"
        route = {"action": chosen, "rule": rule}
        if chosen == "stop":
            text = await ctx.first_draft(problem, final=True)
            return Final(candidate=ctx.record(round=0, kind="draft", text=text, metadata={"route": route}),
                         stop_reason="stop")
        final, _ = await self._act(chosen, problem, ctx, None, [], route, round_number=0)
        return final

    async def measure(self, problem: Problem,
                      ctx: Context) -> tuple[Candidate, list[str], dict[str, float]]:
        """The greedy draft, the quick samples and the features, every signal recorded on the draft."""
        p = self.params
        logprobs: dict[str, Any] = {"logprobs": True} if p.likelihood else {}
        [completion] = await ctx.first_completions(problem, 1, **logprobs)
        draft = ctx.record(round=0, kind="draft", text=completion.text)
        quick: list[str] = []
        if p.samples:
            completions = await ctx.first_completions(problem, p.samples, temperature=p.temperature)
            quick = [c.text for c in completions]
            for index, text in enumerate(quick):
                ctx.record(round=0, kind="probe", text=text, parent=draft.seq, metadata={"index": index})
        verdict = score = None
        if p.critic:
            judgement = await ctx.judge(self.feedback or CriticFeedback(), problem, draft)
            verdict, score = judgement.verdict.value, judgement.score
        probability = None
        if p.ptrue:
            probability, _ = await p_true(ctx, problem, draft.text, [])
        signals = Signals(
            draft_answer=draft.answer, sample_answers=[ctx.extract(t) for t in quick],
            draft_tokens=completion.completion_tokens, truncated=completion.finish_reason == "length",
            task=self.task_name, answer_type=self.answer_type, spent_tokens=ctx.ledger.total_tokens(),
            critic_verdict=verdict, critic_score=score,
            mean_logprob=(mean_logprob([t.logprob for t in completion.logprobs or []]) if p.likelihood
                          else None),
            p_true=probability, p_true_asked=p.ptrue)
        features = signals.features()
        draft.metadata["signals"] = signals.model_dump()
        draft.metadata["features"] = features
        ctx.update(draft)
        return draft, quick, features

    def decide(self, features: dict[str, float], ctx: Context,
               allowed: list[str] | None) -> tuple[str, dict[str, float], str]:
        """(action, each action's P(right) where a policy gives them, the rule that decided)."""
        p = self.params
        if p.action != "auto":
            return p.action, {}, "fixed action"
        if self.policy is not None:
            affordable = self._affordable(ctx, allowed)
            action, probabilities = self.policy.choose(features, affordable)
            return action, probabilities, f"policy {self.policy_digest}"
        agreement = features["agreement"]
        if allowed is None:
            action = "stop" if agreement >= p.confident_at else "vote"
            return action, {}, f"rule: agreement {agreement:.2f} {'>=' if action == 'stop' else '<'} " \
                f"confident_at {p.confident_at}"
        action = "refine" if agreement < p.escalate_below else "vote"
        return action, {}, f"rule: vote share {agreement:.2f} {'<' if action == 'refine' else '>='} " \
            f"escalate_below {p.escalate_below}"

    def _affordable(self, ctx: Context, allowed: list[str] | None) -> list[str] | None:
        """The policy's actions whose training mean cost fits the tokens this solve has left (a mean
        is no bound: the budget still cuts a run that overspends); all of them without a budget."""
        assert self.policy is not None
        names = allowed if allowed is not None else self.policy.names
        limit = ctx.budget.max_tokens
        if limit is None:
            return names
        # A mean includes the signals already spent, so it fits when it is within the whole budget.
        fitting = [n for n in names if self.policy.action(n).mean_tokens <= limit]
        return fitting or names[:1]

    async def _escalate(self, problem: Problem, ctx: Context, first: Final, samples: list[str | None],
                        features: dict[str, float]) -> Final:
        """The one second decision, after a vote: its samples' agreement with its winner decides."""
        winner = first.candidate
        if winner is None or not samples:
            return first
        updated = {**features, **agreement_features(winner.answer, samples),
                   "log_spent_tokens": math.log1p(ctx.ledger.total_tokens())}
        later = [a for a in ACTION_ORDER[ACTION_ORDER.index("vote"):] if a == "vote" or a in self.actions]
        chosen, probabilities, rule = self.decide(updated, ctx, allowed=later)
        route = {"action": chosen, "rule": rule, "probabilities": probabilities, "escalation": True}
        winner.metadata["escalation"] = route
        ctx.update(winner)
        if chosen == "vote":
            return first
        final, _ = await self._act(chosen, problem, ctx, winner, [], route, round_number=2)
        return final

    async def _act(self, name: str, problem: Problem, ctx: Context, start: Candidate | None,
                   quick: list[str], route: dict[str, Any], *,
                   round_number: int) -> tuple[Final, list[str | None]]:
        """Run action `name` from `start` (its first draft) and `quick` (its first samples); its final
        answer is recorded as this run's candidate of round `round_number`. Also returns the answers
        of the samples it voted over (a vote's: what the escalation reads)."""
        strategy = self.actions[name]
        drafter = self.reusing(start.text, quick) if start is not None and strategy.takes_drafts else None
        child = ctx.child(name, drafter=drafter)
        stop_reason = name
        try:
            final = await strategy.solve(problem, child)
            chosen = final.candidate
        except BudgetExhausted:
            chosen, stop_reason = strategy.select(child.candidates), "budget"
            if chosen is None and start is None:
                raise
        samples = [c.answer for c in child.candidates if c.kind == "sample"]
        if chosen is None or (stop_reason == "budget" and start is not None and chosen.text == start.text):
            return Final(candidate=start, stop_reason=stop_reason), samples  # the action added nothing
        recorded = ctx.record(round=round_number, kind=name, text=chosen.text, answer=chosen.answer,
                              parent=None if start is None else start.seq, call_seq=chosen.call_seq,
                              metadata={"route": route, "from_stage": name, "action_stop": stop_reason})
        return Final(candidate=recorded, stop_reason=stop_reason), samples

    def reusing(self, start: str, quick: list[str]) -> Drafter:
        """First drafts for an action: `start` for its first plain draft, the quick samples for samples
        at their temperature, fresh generations for the rest."""
        pool = list(quick)
        temperature = self.params.temperature
        state = {"start_used": False}

        async def drafter(problem: Problem, ctx: Context, n: int, sampling: Any) -> list[str]:
            asked = sampling.get("temperature")
            texts: list[str] = []
            if n == 1 and not sampling and not state["start_used"]:
                state["start_used"] = True
                return [start]
            if asked is not None and asked == temperature:
                texts, pool[:] = pool[:n], pool[n:]
            rest = n - len(texts)
            if rest:
                plain = ctx.child(ctx.stage or "fresh")
                texts += [c.text for c in await plain.first_completions(problem, rest, **dict(sampling))]
            return texts

        return drafter

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The answer of the latest action taken (a probe is never the answer; the draft, before any)."""
        kept = [c for c in candidates if c.kind != "probe"]
        return kept[-1] if kept else None

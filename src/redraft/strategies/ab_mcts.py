"""AB-MCTS, adaptive branching tree search (Inoue et al. 2025, Sakana AI): wider or deeper, by Thompson draws.

    tree = a root with no answer; every other node is an answer with a score s in [0, 1]
    for i in 1..I:
        node = root
        while node has children:                                          # selection
            g ~ posterior(GEN at node);  c ~ posterior(CONT at node)
            if g >= c: break                                              # wider: a new child here
            node = the child with the highest draw ~ posterior(child)     # deeper: go on in that child
        [multi-model] m = the model with the highest draw ~ posterior(scores of m's answers)
        child = m(x), a fresh sample, if node is the root, else m(refine | x, node, feedback(node))
        s = score(feedback(x, child))                                     # the feedback source
        GEN at node observes s; CONT at every ancestor a above node, and a's child on the path, observe s
    final = the highest-scored answer (ties: the older)

This is AB-MCTS-A (node aggregation): at a node, GEN's posterior holds the scores of the
children generated there, CONT's the scores of everything generated deeper through its
children, and each child's posterior its own score and its subtree's. Posteriors are
conjugate: `dist=gaussian` a normal-inverse-χ² (prior m = 0, κ = 1, ν = 1, τ² = 0.1; the draw is
the mean, μ | σ² ~ N(m, σ²/κ) with σ² ~ Inv-Gamma(ν/2, ντ²/2)), `dist=beta` a Beta(½, ½) updated
with a += s, b += 1 - s. A node's score is its judgement's score clipped to [0, 1], else its
verdict (ok 1, revise 0); an unreadable judgement scores 0 (the bottom of the scale) and is
counted in `metadata["unscored"]`. The default source is a critic asked for a "Score: N/10"
line and a verdict, whose text is the feedback a refinement sees. Every generation samples at
`temperature` (each call its own seed), so widening never makes copies; judging runs at the
run's own sampling. Each iteration costs one generation and one judgement: 2I calls with a
critic (more where it asks its constrained verdict line), I with tests. The search never
stops early (nor does the paper's).

Multi-model (`multi_model=true`): the pool is every generating role bound to a model in the run
(`--model` for the generator, `--role refiner=MODEL`, `--role rewriter=MODEL`, ...), each role
an arm whose calls, fresh or refinements, go to its model. After GEN or at a leaf the arm is
chosen by Thompson sampling over the scores of all the answers that arm wrote, anywhere in the
tree (GEN and CONT are shared by the arms). Single-model, fresh answers are the generator's and
refinements the refiner's (which falls back to the generator).

Against TreeQuest (SakanaAI/treequest, `ABMCTSA` with its default
`model_selection_strategy="multiarm_bandit_thompson"`; read, not copied), the design is the
same: the same priors, the same back-up (the parent's GEN and each ancestor's CONT), the arm
drawn from the pooled scores of each action, the best score as the answer. It differs in:
- scoring: TreeQuest's generate function must return a score; here the feedback source gives
  it, and an unreadable judgement is a recorded 0 rather than an error;
- what an action is: TreeQuest hands an action only the parent's state; here expanding the root
  is a fresh sample and expanding an answer is a refinement of it with its feedback;
- randomness: TreeQuest draws from numpy's and scipy's process-wide generators; here from the
  run's seeded generator (`strategies.randomness`), so a seeded run replays exactly;
- at a node with no children TreeQuest still draws GEN against CONT (CONT falls back to GEN);
  here that decision takes no draw, which changes the random stream but no decision;
- order: TreeQuest's ask-tell interface can expand a batch of nodes in parallel; here the
  loop is the paper's, one expansion at a time, since each score informs the next choice;
- scope: no AB-MCTS-M (its mixed model needs PyMC), no "stack" or UCB arm selection, no
  per-action prior means (`reward_average_priors`).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

from redraft.context import Context
from redraft.feedback.critic import CriticFeedback
from redraft.roles import GENERATING_ROLES
from redraft.strategies.base import Final, Strategy, StrategyError
from redraft.strategies.randomness import seeded_rng
from redraft.strategies.registry import register
from redraft.tasks.base import Problem
from redraft.trace import Candidate, Feedback, Verdict

Dist = Literal["gaussian", "beta"]
GAUSSIAN_PRIOR = (0.0, 1.0, 1.0, 0.1)  # m, κ, ν, τ² (TreeQuest's defaults)
BETA_PRIOR = (0.5, 0.5)  # Jeffreys

CRITIQUE_PROMPT = """\
Review the proposed answer to the problem below, step by step. Point out every error, gap or \
unclear step and say concretely how to fix it.
Then grade it: end with a line "Score: N/10" (10: certainly correct and complete), and a last \
line "VERDICT: correct" if no change is needed, or "VERDICT: revise" otherwise.

Problem:
{problem}

Proposed answer:
{candidate}"""

REFINE_PROMPT = """\
Problem:
{problem}

Your previous answer:
{answer}

Feedback on it:
{feedback}

Improve your answer using the feedback: reason step by step, write the complete improved \
answer and end with the final answer."""


@dataclass
class Node:
    """A node of the search; the root (index 0) has no candidate."""

    candidate: Candidate | None = None
    parent: int | None = None
    role: str | None = None  # the arm that wrote it
    score: float = 0.0
    children: list[int] = field(default_factory=list)
    below: list[float] = field(default_factory=list)  # the scores of every node in its subtree but itself


def node_score(feedback: Feedback) -> float | None:
    """The judgement's score in [0, 1], else its verdict (ok 1, revise 0); None if unreadable."""
    if feedback.score is not None:
        return min(max(feedback.score, 0.0), 1.0)
    return {Verdict.OK: 1.0, Verdict.REVISE: 0.0}.get(feedback.verdict)


def gaussian_posterior(scores: list[float]) -> tuple[float, float, float, float]:
    """The normal-inverse-χ² posterior (m, κ, ν, τ²) after `scores`, from GAUSSIAN_PRIOR."""
    m, kappa, nu, tau2 = GAUSSIAN_PRIOR
    n = len(scores)
    if not n:
        return m, kappa, nu, tau2
    mean = sum(scores) / n
    spread = sum((s - mean) ** 2 for s in scores)
    return (
        (kappa * m + n * mean) / (kappa + n),
        kappa + n,
        nu + n,
        (nu * tau2 + spread + n * kappa * (m - mean) ** 2 / (kappa + n)) / (nu + n),
    )


def draw(scores: list[float], dist: Dist, rng: random.Random) -> float:
    """One Thompson sample of the expected score, given the scores observed so far."""
    if dist == "beta":
        a, b = BETA_PRIOR
        return rng.betavariate(a + sum(scores), b + sum(1 - s for s in scores))
    m, kappa, nu, tau2 = gaussian_posterior(scores)
    variance = 1.0 / rng.gammavariate(nu / 2, 2 / (nu * tau2))  # σ² ~ Inv-Gamma(ν/2, ντ²/2)
    return rng.gauss(m, math.sqrt(variance / kappa))


def choose_node(tree: list[Node], dist: Dist, rng: random.Random) -> int:
    """The node whose new child comes next: down from the root while CONT outdraws GEN."""
    index = 0
    while tree[index].children:
        children = [tree[c] for c in tree[index].children]
        gen = draw([child.score for child in children], dist, rng)
        cont = draw([s for child in children for s in child.below], dist, rng)
        if gen >= cont:
            return index
        draws = [draw([child.score, *child.below], dist, rng) for child in children]
        index = tree[index].children[draws.index(max(draws))]
    return index


def choose_arm(pool: list[str], scores: dict[str, list[float]], dist: Dist, rng: random.Random) -> str:
    """The arm (role) with the highest draw from the scores of its answers; one arm takes no draw."""
    if len(pool) == 1:
        return pool[0]
    draws = [draw(scores[role], dist, rng) for role in pool]
    return pool[draws.index(max(draws))]


@register
class ABMCTS(Strategy):
    name = "ab_mcts"
    paper = (
        "Wider or Deeper? Scaling LLM Inference-Time Compute with Adaptive Branching Tree Search "
        "(Inoue et al., 2025)"
    )
    summary = "tree search that picks wider (new sample) vs deeper (refine) by Thompson sampling; multi-model"
    roles = ("generator", "refiner", "critic")

    class Params(BaseModel):
        iterations: int = Field(
            8, ge=1, description="nodes generated, the generation budget (the paper sweeps 2 to 128)"
        )
        dist: Dist = Field("gaussian", description="posterior family of the Thompson draws")
        multi_model: bool = Field(
            False, description="every generating role bound to a model is an arm (Multi-LLM AB-MCTS)"
        )
        temperature: float = Field(0.7, ge=0, description="temperature of every generation")

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        p = self.params
        pool = self._pool(ctx)
        critic = self.feedback or CriticFeedback(CRITIQUE_PROMPT)
        rng = seeded_rng(self.name, ctx, problem)
        search = ctx.sampled(temperature=p.temperature)  # every generation is a sample
        tree = [Node()]
        by_arm: dict[str, list[float]] = {role: [] for role in pool}
        for iteration in range(1, p.iterations + 1):
            index = choose_node(tree, p.dist, rng)
            role = choose_arm(pool, by_arm, p.dist, rng)
            candidate = await self._generate(problem, tree, index, role, iteration, search)
            value = node_score(await ctx.judge(critic, problem, candidate))
            tree.append(Node(candidate=candidate, parent=index, role=role, score=value or 0.0))
            tree[index].children.append(len(tree) - 1)
            ancestor: int | None = index
            while ancestor is not None:  # back-up: every node above the new one has it below
                tree[ancestor].below.append(tree[-1].score)
                ancestor = tree[ancestor].parent
            by_arm[role].append(tree[-1].score)
            candidate.score = tree[-1].score
            candidate.metadata.update(node=len(tree) - 1, unscored=value is None)
            ctx.update(candidate)
        return Final(candidate=self.select(ctx.candidates), stop_reason="iterations")

    def _pool(self, ctx: Context) -> list[str]:
        """The arms: the generator alone, or (multi-model) every generating role bound to a model."""
        if not self.params.multi_model:
            return ["generator"]
        pool = [role for role in GENERATING_ROLES if role in ctx.models]
        if len(pool) < 2:
            raise StrategyError(
                "ab_mcts[multi_model=true] needs at least two models: bind more with "
                "--role (e.g. --role refiner=MODEL), each generating role is one arm"
            )
        return pool

    async def _generate(
        self, problem: Problem, tree: list[Node], index: int, role: str, iteration: int, ctx: Context
    ) -> Candidate:
        """The new child of node `index`: a fresh answer from the root, else a refinement of the node."""
        multi = self.params.multi_model
        metadata = {"arm": role} if multi else {}
        if index == 0:
            text = await (ctx.first_draft(problem) if role == "generator" else ctx.ask(role, problem.prompt))
            return ctx.record(round=iteration, kind="sample", text=text, metadata=metadata)
        parent = tree[index].candidate
        assert parent is not None
        prompt = REFINE_PROMPT.format(
            problem=problem.prompt, answer=parent.text, feedback=parent.feedback or ""
        )
        text = await ctx.ask(role if multi else "refiner", prompt)
        return ctx.record(round=iteration, kind="refine", text=text, parent=parent.seq, metadata=metadata)

    def all_roles(self) -> tuple[str, ...]:
        """With multi_model, the arms are the bound generating roles: any of them may be called."""
        extra = GENERATING_ROLES if self.params.multi_model else ()
        return tuple(dict.fromkeys((*super().all_roles(), *extra)))

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The highest-scored answer (ties: the older); one not yet judged ranks last."""
        answers = [c for c in candidates if c.kind in ("sample", "refine")]
        scored = [c for c in answers if c.score is not None]
        if scored:
            return max(scored, key=lambda c: c.score if c.score is not None else -math.inf)
        return answers[0] if answers else None

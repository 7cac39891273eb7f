"""MCTSr, Monte Carlo Tree Self-refine (Zhang et al. 2024): a search tree whose nodes are whole answers.

    roots: a0 = M(x) and a dummy "I don't know." (no generation);  R(a0), R(dummy) in parallel
    for rollout in 1..R:
        s = argmax UCT(a) = Q(a) + c·sqrt(ln(N(parent(a)) + 1) / (N(a) + ε)) over expandable nodes
            (expandable: fewer than `max_children` children, or its best child's Q is below its own)
        in parallel: one more reward sample for s | fb = critic(x, s); child = refiner(x, s, fb)
        R(child);  Q'(a) = (Q(a) + max child Q) / 2 for a on the path from s up to its root
    final = the highest-Q node that is not the dummy

Reward: the model grades an answer harshly in [-100, 100] (role "reward"); a grade
≥ 95 becomes 50, as in the paper's code (`if ret >= 95: ret = 50`; its text says
"reduced by a constant"). Q(a) = (min R + mean R) / 2 over the readable grades; an
unreadable or out-of-range grade is counted in `unparsed_rewards`, not sampled, and a
node with no readable grade has Q = -100 (the bottom of the scale; it stays selectable,
so a later visit may grade it). N(a) counts grading calls (1 at creation + 1 per
selection); a root's parent count is 0, so roots compete on Q alone (the paper's
code). In the backprop, Q(a) is the node's own (min + mean) / 2 and the max runs over
its graded children's propagated Q. The critique comes from the feedback source
(default: a harsh critic); like the paper, the search never stops on its verdict.
About 3 + 4R calls.

Every call after the first draft (grades, critiques, refinements) samples at
`temperature`, each with its own seed in a seeded run: a re-grade is one more reward
*sample*, and expanding a node twice must give two different children, so at the
evaluation's temperature 0 the search would otherwise grow copies. The paper states no
temperature; 0.7 here, the value the other samplers of this package use.

Options, all off by default (the MCTSr paper's search):
- MC-NEST (Rabby et al. 2024) `init=zero_shot`: the draft is the only root, no dummy
  (2 + 4R calls). `selection=importance`: the node to expand is drawn, not argmaxed, with
  probability proportional to UCT(a) · π(a), π the uniform (Nash equilibrium) strategy over
  the expandable nodes; a negative UCT weighs 0, and when every weight is 0 the draw is
  uniform. Draws come from the run's seeded generator. MC-NEST's code spreads π over the
  root's children only (a deeper node weighs 0 there); this follows its text, π over every
  candidate node. Its pairwise importance sampling is not here.
- LLaMA-Berry's final pick, `final=tournament`: the `final_pool` highest-Q answers are ranked by
  the pairwise tournament (`strategies.tournament`, role `reward`, at the run's own sampling)
  and its winner is the answer: + k(k - 1) calls for a pool of k. Cut off before any
  comparison, the highest Q is.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, Field

from redraft.context import Context, both, gather
from redraft.feedback.base import FeedbackSource
from redraft.feedback.critic import CriticFeedback
from redraft.strategies.base import Final, Strategy
from redraft.strategies.randomness import seeded_rng
from redraft.strategies.registry import register
from redraft.strategies.tournament import MAX_ENTRANTS, run_tournament, tournament_winner
from redraft.tasks.base import Problem
from redraft.trace import Candidate

DUMMY = "I don't know."
NO_REWARD_Q = -100.0

REWARD_PROMPT = """\
Question: {problem}
Answer: {answer}
Analyze this answer strictly and critically: point out every flaw and every possible \
imperfection, and take points off for each. Be very harsh and never give full marks, so \
that the grade means something. Output a score between -100 and +100.
Response format:
[Analysis] ...
[Score] <a number from -100 to 100>"""

CRITIQUE_PROMPT = """\
Question: {problem}
Answer: {candidate}
We have a weak answer. Give a reflection on it, as feedback for correcting it: analyze \
it strictly and critically, step by step, and point out every flaw and every possible \
imperfection. End with exactly one line: "VERDICT: correct" if no change is needed, or \
"VERDICT: revise" otherwise."""

REFINE_PROMPT = """\
Question: {problem}

Your previous answer:
{answer}

Reflection on it:
{critique}

Refine your answer according to the reflection: reason step by step, write the complete \
improved answer and end with the final answer."""

SCORE = re.compile(r"\bscore\b[^\d+-]{0,20}?([-+]?\d+(?:\.\d+)?)", re.IGNORECASE)


def parse_reward(text: str, high: float = 95.0, suppressed: float = 50.0) -> float | None:
    """The number after the last "Score", in [-100, 100], with grades ≥ `high` set to `suppressed`."""
    found = SCORE.findall(text)
    if not found or not -100 <= float(found[-1]) <= 100:
        return None
    value = float(found[-1])
    return suppressed if value >= high else value


@dataclass
class Node:
    text: str
    parent: int | None = None
    rewards: list[float] = field(default_factory=list)
    visits: int = 0
    unparsed: int = 0
    q: float = NO_REWARD_Q
    children: list[int] = field(default_factory=list)
    candidate: Candidate | None = None


def q_value(rewards: Sequence[float]) -> float:
    """Q = (min R + mean R) / 2: pessimistic, so one lucky grade cannot carry a node."""
    return (min(rewards) + sum(rewards) / len(rewards)) / 2 if rewards else NO_REWARD_Q


def uct(q: float, parent_visits: int, visits: int, c: float = 1.4, eps: float = 1e-5) -> float:
    return q + c * math.sqrt(math.log(parent_visits + 1) / (visits + eps))


def expandable(tree: list[Node], index: int, max_children: int) -> bool:
    node = tree[index]
    return len(node.children) < max_children or max(tree[i].q for i in node.children) < node.q


def node_uct(tree: list[Node], index: int, c: float, eps: float) -> float:
    node = tree[index]
    parent_visits = tree[node.parent].visits if node.parent is not None else 0
    return uct(node.q, parent_visits, node.visits, c, eps)


def select_node(tree: list[Node], c: float, eps: float, max_children: int) -> int:
    """The expandable node with the highest UCT (ties: the older). A leaf is always expandable."""
    return max((i for i in range(len(tree)) if expandable(tree, i, max_children)),
               key=lambda i: node_uct(tree, i, c, eps))


def importance_weights(tree: list[Node], c: float, eps: float, max_children: int) -> dict[int, float]:
    """MC-NEST's importance sampling weights: max(UCT, 0) · π over the expandable nodes, π uniform."""
    nodes = [i for i in range(len(tree)) if expandable(tree, i, max_children)]
    return {i: max(node_uct(tree, i, c, eps), 0.0) / len(nodes) for i in nodes}


def sample_node(tree: list[Node], c: float, eps: float, max_children: int, rng: random.Random) -> int:
    """An expandable node drawn in proportion to its importance weight (uniformly if all are 0)."""
    weights = importance_weights(tree, c, eps, max_children)
    if sum(weights.values()) <= 0:
        return rng.choice(list(weights))
    return rng.choices(list(weights), weights=list(weights.values()), k=1)[0]


def updated_q(tree: list[Node], index: int) -> float:
    """Q'(a) = (Q(a) + max child Q) / 2 over the children graded so far; Q(a) alone for a leaf."""
    node = tree[index]
    graded = [tree[i].q for i in node.children if tree[i].visits]
    own = q_value(node.rewards)
    return (own + max(graded)) / 2 if graded else own


def backpropagate(tree: list[Node], index: int | None) -> list[int]:
    """Update Q' from `index` up to its root; returns the updated path."""
    path = []
    while index is not None:
        tree[index].q = updated_q(tree, index)
        path.append(index)
        index = tree[index].parent
    return path


@register
class MCTSr(Strategy):
    name = "mctsr"
    paper = ("Accessing GPT-4 level Mathematical Olympiad Solutions via Monte Carlo Tree Self-refine "
             "with LLaMa3-8B (Zhang et al., 2024)")
    summary = "tree search over whole answers: UCT selection, critique + refine expansion, harsh self-reward"
    roles = ("generator", "reward", "critic", "refiner")

    class Params(BaseModel):
        rollouts: int = Field(4, ge=0, description="rollouts R (the paper: 4, 8, 16)")
        max_children: int = Field(3, ge=1, description="a node with this many children is fully expanded")
        c: float = Field(1.4, ge=0, description="UCT exploration constant")
        eps: float = Field(1e-5, gt=0, description="keeps UCT finite for unvisited nodes")
        high_score: float = Field(95, description="grades at or above this are suppressed")
        suppressed_score: float = Field(50, description="what a suppressed grade becomes (paper's code)")
        temperature: float = Field(0.7, ge=0, description="temperature of grades, critiques, refinements")
        init: Literal["dummy", "zero_shot"] = Field(
            "dummy", description="dummy: a draft root and an \"I don't know\" root (MCTSr); zero_shot: "
            "the draft alone (MC-NEST)")
        selection: Literal["uct", "importance"] = Field(
            "uct", description="uct: the highest UCT; importance: drawn in proportion to UCT · uniform π "
            "(MC-NEST)")
        final: Literal["q", "tournament"] = Field(
            "q", description="q: the highest-Q answer; tournament: the pairwise tournament's winner among "
            "the final_pool best by Q (LLaMA-Berry)")
        final_pool: int = Field(4, ge=2, le=MAX_ENTRANTS, description="answers entering final=tournament")

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        critic = self.feedback or CriticFeedback(CRITIQUE_PROMPT)
        p = self.params
        tree = [Node(text=await ctx.first_draft(problem))]
        search = ctx.sampled(temperature=p.temperature)  # the search's calls are samples
        tree[0].candidate = search.record(round=0, kind="draft", text=tree[0].text, metadata={"node": 0})
        if p.init == "dummy":
            tree.append(Node(text=DUMMY))
            tree[1].candidate = search.record(round=0, kind="dummy", text=DUMMY, answer=None,
                                              metadata={"node": 1})
        await gather(*(self._reward(problem, tree, index, search) for index in range(len(tree))))
        rng = seeded_rng(self.name, ctx, problem)
        for rollout in range(1, p.rollouts + 1):
            chosen = (sample_node(tree, p.c, p.eps, p.max_children, rng) if p.selection == "importance"
                      else select_node(tree, p.c, p.eps, p.max_children))
            _, child = await both(self._reward(problem, tree, chosen, search),
                                  self._expand(problem, tree, chosen, rollout, critic, search))
            await self._reward(problem, tree, child, search)
            for index in backpropagate(tree, chosen):
                self._publish(tree[index], search)
        if p.final == "tournament":
            answers = [i for i, node in enumerate(tree)
                       if node.visits and node.candidate is not None and node.candidate.kind != "dummy"]
            pool = sorted(answers, key=lambda i: (-tree[i].q, i))[:p.final_pool]
            # Judged at the run's own sampling, as the tournament strategy's comparisons are.
            await run_tournament(problem, [c for i in pool if (c := tree[i].candidate) is not None], ctx)
        return Final(candidate=self.select(ctx.candidates), stop_reason="rollouts")

    async def _reward(self, problem: Problem, tree: list[Node], index: int, ctx: Context) -> None:
        """One more reward sample for a node (a visit), and its Q from the samples so far."""
        node = tree[index]
        prompt = REWARD_PROMPT.format(problem=problem.prompt, answer=node.text)
        graded = await ctx.ask("reward", prompt)
        value = parse_reward(graded, self.params.high_score, self.params.suppressed_score)
        node.visits += 1
        if value is None:
            node.unparsed += 1
        else:
            node.rewards.append(value)
        node.q = updated_q(tree, index)
        self._publish(node, ctx)

    async def _expand(self, problem: Problem, tree: list[Node], index: int, rollout: int,
                      critic: FeedbackSource, ctx: Context) -> int:
        """Critique and refine a node: its new child (not yet rewarded)."""
        node = tree[index]
        assert node.candidate is not None
        judgement = await ctx.judge(critic, problem, node.candidate)
        self._publish(node, ctx)
        prompt = REFINE_PROMPT.format(problem=problem.prompt, answer=node.text, critique=judgement.text)
        refined = await ctx.ask("refiner", prompt)
        tree.append(Node(text=refined, parent=index))
        node.children.append(len(tree) - 1)
        tree[-1].candidate = ctx.record(round=rollout, kind="refine", text=refined,
                                        parent=node.candidate.seq, metadata={"node": len(tree) - 1})
        return len(tree) - 1

    @staticmethod
    def _publish(node: Node, ctx: Context) -> None:
        """Mirror the node's Q and statistics on its candidate (score = Q) and re-emit it to the trace."""
        if node.candidate is None or node.visits == 0:
            return
        node.candidate.score = node.q
        node.candidate.metadata.update(rewards=list(node.rewards), visits=node.visits,
                                       unparsed_rewards=node.unparsed)
        ctx.update(node.candidate)

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The tournament's winner if one ran, else the highest-Q answer that is not the dummy (ties:
        the older); unrewarded ones rank last."""
        answers = [c for c in candidates if c.kind != "dummy"]
        winner = tournament_winner(answers) if self.params.final == "tournament" else None
        if winner is not None:
            return winner
        scored = [c for c in answers if c.score is not None]
        if scored:
            return max(scored, key=lambda c: c.score if c.score is not None else -math.inf)
        return answers[0] if answers else None

"""Local refine and rerank (GLoRe, Havrilla et al. 2024; step critique as in Critic-CoT, Zheng et al. 2024).

    y0 = M(x) greedy;  p0 = verifier P(correct | x, y0)
    if p0 >= tau: final = y0                                                  (stop "verified")
    in parallel:
        global:  g = refiner(x, y0: "may be wrong, solve again from scratch");  p_g = verifier(g)
        local:   j = critic(x, steps of y0) -> the first wrong step
                 l = steps 1..j-1 of y0 + refiner(x, steps 1..j-1, step j, the critique: continue)
                 p_l = verifier(l)
    final = argmax of {y0: p0, g: p_g, l: p_l}, the draft first on ties       (stop "reranked")

As in GLoRe, the verifier decides *when* (the draft's P(correct) below tau), the step critic
*where* (the first wrong step: its SORM role, here an LLM critique ending in "FIRST WRONG STEP: j",
Critic-CoT's step-wise form), and the rerank *whether*: a refinement replaces the draft only if the
verifier scores it strictly higher. The global refinement is told only that the draft may be
wrong, as GLoRe's global refiner is, so it runs beside the critic; the local one keeps the steps
before j verbatim. A step is a non-empty line of the draft, numbered for the critic.

The verifier's P(correct) is P(True) from logprobs (`verifier="ptrue"`, the question of `ptrue`;
the model must return logprobs, checked before any call). Without logprobs the fallback is
explicit: `verifier="feedback"` takes the feedback source's score (a reward model, `@step_reward`,
a critic whose prompt asks "Score: n/m"), on its own scale, with tau on that scale. An unreadable
score is recorded and ranks below any score. A critique naming no wrong step (or none readable)
leaves only the global refinement. 2 calls when the draft passes, else 7 (5 with no local step).
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from redraft.context import Context, both
from redraft.feedback.base import FeedbackSource
from redraft.strategies.base import Final, Strategy, StrategyError
from redraft.strategies.ptrue import p_true
from redraft.strategies.registry import register
from redraft.tasks.base import Problem
from redraft.trace import Candidate

STEP_CRITIC_PROMPT = """\
Check the solution to the problem below step by step. For each step, say whether it is correct \
and why. Then end with exactly one line naming the first incorrect step: "FIRST WRONG STEP: <number>", \
or "FIRST WRONG STEP: none" if every step is correct.

Problem:
{problem}

Solution:
{steps}"""

GLOBAL_PROMPT = """\
Problem:
{problem}

A previous solution, which may contain errors:
{draft}

Solve the problem again from scratch: reason step by step, write a complete and correct \
solution and end with the final answer."""

LOCAL_PROMPT = """\
Problem:
{problem}

The first steps of a solution, which are correct:
{kept}

The next step was wrong:
{wrong}

A reviewer's critique:
{critique}

Continue the solution from step {step}: write a corrected step {step} and every step after it, \
ending with the final answer. Do not repeat the steps above."""

STEP_PREFIX = re.compile(r"^step\s*\d+\s*[:.)]\s*", re.IGNORECASE)
#: The candidates the rerank compares, in the order that wins ties.
RERANKED = ("draft", "global", "local")

FIRST_WRONG = re.compile(r"first\s+wrong\s+step\s*[:=]\s*(?:step\s*)?(\d+|none)", re.IGNORECASE)


def split_steps(text: str) -> list[str]:
    """A solution's steps: its non-empty lines."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def numbered(steps: list[str], start: int = 1) -> str:
    """Steps numbered as the critic sees them (a step's own "Step i:" is replaced, not repeated)."""
    return "\n".join(f"Step {i}: {STEP_PREFIX.sub('', step)}" for i, step in enumerate(steps, start=start))


def parse_first_wrong(critique: str, steps: int) -> int | None:
    """The first wrong step (1-based) the critique's last "FIRST WRONG STEP" line names; None for
    "none", no such line, or a number that is no step of the solution."""
    found = FIRST_WRONG.findall(critique)
    if not found or found[-1].lower() == "none":
        return None
    step = int(found[-1])
    return step if 1 <= step <= steps else None


@register
class LocalRefine(Strategy):
    name = "local_refine"
    paper = (
        "GLoRe: When, Where, and How to Improve LLM Reasoning via Global and Local Refinements "
        "(Havrilla et al., 2024); Critic-CoT (Zheng et al., 2024)"
    )
    summary = "greedy draft; if P(correct) < tau: global and first-wrong-step local refinements, reranked"
    roles = ("generator", "verifier", "critic", "refiner")
    needs_logprobs = ("verifier",)

    class Params(BaseModel):
        tau: float = Field(0.5, description="refine when the draft's P(correct) is below this")
        verifier: Literal["ptrue", "feedback"] = Field(
            "ptrue",
            description="ptrue: P(True) from the verifier's logprobs; feedback: the feedback "
            "source's score (the fallback for models without logprobs; tau on its scale)",
        )

    params: Params

    def __init__(self, feedback: FeedbackSource | None = None, **params: Any) -> None:
        super().__init__(feedback, **params)
        if self.params.verifier == "feedback" and feedback is None:
            raise StrategyError(
                "local_refine[verifier=feedback] scores with the feedback source: give one "
                "that scores (e.g. @reward, @step_reward)"
            )
        if self.params.verifier == "ptrue" and feedback is not None:
            raise StrategyError(
                "local_refine verifies with P(True) by default; to score with the feedback "
                "source, set verifier=feedback"
            )

    def logprob_roles(self) -> tuple[str, ...]:
        return self.needs_logprobs if self.params.verifier == "ptrue" else ()

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        draft = ctx.record(round=0, kind="draft", text=await ctx.first_draft(problem, temperature=0.0))
        await self._verify(problem, draft, ctx)
        if draft.score is not None and draft.score >= self.params.tau:
            return Final(candidate=draft, stop_reason="verified")
        await both(self._global(problem, draft, ctx), self._local(problem, draft, ctx))
        return Final(candidate=self.select(ctx.candidates), stop_reason="reranked")

    async def _verify(self, problem: Problem, candidate: Candidate, ctx: Context) -> None:
        """The verifier's P(correct) as the candidate's score (None, recorded, when unreadable)."""
        if self.params.verifier == "ptrue":
            candidate.score, reply = await p_true(ctx, problem, candidate.text, [])
            candidate.metadata["verifier_reply"] = reply
        else:
            assert self.feedback is not None
            await ctx.judge(self.feedback, problem, candidate)
        if candidate.score is None:
            candidate.metadata["unreadable"] = "the verifier gave no readable P(correct)"
        ctx.update(candidate)

    async def _global(self, problem: Problem, draft: Candidate, ctx: Context) -> None:
        text = await ctx.ask(
            "refiner", GLOBAL_PROMPT.format(problem=problem.prompt, draft=draft.text.strip())
        )
        await self._verify(problem, ctx.record(round=1, kind="global", text=text, parent=draft.seq), ctx)

    async def _local(self, problem: Problem, draft: Candidate, ctx: Context) -> None:
        steps = split_steps(draft.text)
        critique = await ctx.ask(
            "critic", STEP_CRITIC_PROMPT.format(problem=problem.prompt, steps=numbered(steps))
        )
        wrong = parse_first_wrong(critique, len(steps))
        draft.metadata.update(step_critique=critique, first_wrong_step=wrong)
        ctx.update(draft)
        if wrong is None:  # nothing to keep or fix locally: the global refinement stands alone
            return
        kept = steps[: wrong - 1]
        prompt = LOCAL_PROMPT.format(
            problem=problem.prompt,
            kept=numbered(kept) or "(none: step 1 was wrong)",
            step=wrong,
            wrong=numbered([steps[wrong - 1]], start=wrong),
            critique=critique.strip(),
        )
        continuation = await ctx.ask("refiner", prompt)
        text = "\n".join([*kept, continuation.strip()])
        local = ctx.record(
            round=1,
            kind="local",
            text=text,
            parent=draft.seq,
            metadata={"kept_steps": len(kept), "first_wrong_step": wrong},
        )
        await self._verify(problem, local, ctx)

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The best-scored of draft, global and local: a refinement must score strictly higher than
        the draft (ties go to the draft, then to global over local); unscored ones rank last."""
        ranked = sorted((c for c in candidates if c.kind in RERANKED), key=lambda c: RERANKED.index(c.kind))
        if not ranked:
            return None
        return max(ranked, key=lambda c: -math.inf if c.score is None else c.score)

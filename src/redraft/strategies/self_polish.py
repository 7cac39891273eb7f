"""Self-Polish (Xi et al. 2023): refine the *problem*, not the answer, until the answers converge.

    q0 = x;  a0 = M(q0)
    for t in 1..T (T = 3):
        q_t = M(rewrite | q_{t-1})      # clearer; every number and condition kept, nothing dropped
        a_t = M(q_t)
        stop if answer(a_t) == answer(a_{t-1})         # converged: final = a_t
    not converged: final = last | first (a1) | original (a0) | vote

As in the authors' code, rewrites are progressive (each polishes the previous one), a missing
answer never converges, and the vote falls back to the original answer when no answer repeats.
Their run script uses `last`, the default here. Each answer is a first attempt at its (rewritten)
problem, so it goes through `ctx.draft`: in `X>self_polish`, X solves each version (and
`self_polish>X` hands its final answer to X as a first draft). The first rewrite runs alongside
the answer to the original problem.
"""

from __future__ import annotations

import asyncio
import re
from typing import Literal

from pydantic import BaseModel, Field

from redraft.context import Context
from redraft.strategies.base import Final, Strategy
from redraft.strategies.registry import register
from redraft.strategies.voting import vote
from redraft.tasks.base import Problem
from redraft.trace import Candidate

REWRITE_PROMPT = """\
Rewrite the problem below so that it is clearer and easier to answer: put the facts in the order \
they are needed, drop information that is irrelevant to the question, and state the question \
plainly. Keep every number, condition and instruction (including how the answer must be \
formatted); do not omit any useful information and do not solve the problem.
Write the rewritten problem after a line "New problem:".

Original problem:
{problem}"""

NEW_PROBLEM = re.compile(r"new problem\s*:\s*", re.IGNORECASE)


def parse_rewrite(text: str) -> tuple[str, bool]:
    """The rewritten problem after the last "New problem:" marker, and whether the marker was there."""
    parts = NEW_PROBLEM.split(text)
    return (parts[-1].strip(), True) if len(parts) > 1 else (text.strip(), False)


@register
class SelfPolish(Strategy):
    name = "self_polish"
    paper = "Self-Polish: Enhance Reasoning in Large Language Models via Problem Refinement (Xi et al., 2023)"
    summary = "rewrite the problem more clearly and answer it, until two consecutive answers agree"
    roles = ("generator", "rewriter")

    class Params(BaseModel):
        max_rounds: int = Field(3, ge=0, description="rewrites at most (T)")
        final: Literal["last", "first", "original", "vote"] = Field(
            "last", description="answer kept when the answers never converge"
        )

    async def _rewrite(self, text: str, ctx: Context) -> tuple[str, bool]:
        prompt = REWRITE_PROMPT.format(problem=text)
        return parse_rewrite(await ctx.ask("rewriter", prompt))

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        rounds = self.params.max_rounds
        # a0 and q1 are independent: both run at once; whatever finished is kept if the other failed.
        draft, first_rewrite = await asyncio.gather(
            ctx.first_draft(problem),
            self._rewrite(problem.prompt, ctx) if rounds else asyncio.sleep(0, ("", False)),
            return_exceptions=True,
        )
        if isinstance(draft, BaseException):
            raise draft
        ctx.record(round=0, kind="draft", text=draft, metadata={"problem": problem.prompt})
        for round_number in range(1, rounds + 1):
            if round_number == 1:
                if isinstance(first_rewrite, BaseException):
                    raise first_rewrite
                polished, parsed = first_rewrite
            else:
                polished, parsed = await self._rewrite(ctx.candidates[-1].metadata["problem"], ctx)
            if not polished:
                return self._final(ctx, "empty_rewrite")
            child = problem.model_copy(update={"id": f"{problem.id}/polish{round_number}",
                                               "prompt": polished})
            ctx.record(round=round_number, kind="polished", text=await ctx.first_draft(child),
                       parent=ctx.candidates[-1].seq,
                       metadata={"problem": polished, "rewrite_marker": parsed})
            if converged(ctx.candidates):
                return self._final(ctx, "converged")
        return self._final(ctx, "max_rounds")

    def _final(self, ctx: Context, reason: str) -> Final:
        """The final answer; under `final=vote` without convergence, the vote (ties too) kept on it."""
        chosen = self.select(ctx.candidates)
        answers = [c for c in ctx.candidates if c.kind in ("draft", "polished")]
        if chosen is not None and self.params.final == "vote" and not converged(answers):
            chosen.metadata["vote"] = vote([c.answer for c in answers]).model_dump()
            ctx.update(chosen)
        return Final(candidate=chosen, stop_reason=reason)

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """Converged: the agreeing answer. Otherwise the `final` rule over the answers so far."""
        answers = [c for c in candidates if c.kind in ("draft", "polished")]
        if not answers:
            return None
        rule = self.params.final
        if converged(answers) or rule == "last":
            return answers[-1]
        if rule == "first":
            return answers[1] if len(answers) > 1 else answers[0]
        if rule == "vote":
            result = vote([c.answer for c in answers])
            if result.winner is not None and result.counts[result.winner] > 1:
                return next(c for c in answers if c.answer == result.winner)
        return answers[0]  # "original", and a vote in which no answer repeats


def converged(answers: list[Candidate]) -> bool:
    """Two consecutive answers agree (a missing answer agrees with nothing)."""
    return len(answers) > 1 and answers[-1].answer is not None and answers[-1].answer == answers[-2].answer


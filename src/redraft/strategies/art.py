"""ART: Ask, Refine, and Trust (Shridhar et al. 2023): refine only when asked to, keep it only if trusted.

    y0 = M(x)
    q, done = Asker(x, y0)          # subquestions, and whether y0 answers them all
    if done: final = y0             # no refinement needed
    y1 = M(refine | x, y0, q)
    final = Truster(x, y0, y1) and Truster(x, y1, y0)   # y1 only if preferred in both orders

The asker and the truster are roles ("asker", "truster"): the paper makes them a smaller model,
so either can be bound to one; they fall back to the generator. The asker is the default feedback
source (`AskerFeedback`); another source can replace it (its verdict decides, its text guides the
refiner). Both read explicit lines ("ALL ANSWERED: yes|no", "BEST: 1|2"). An unreadable asker is
recorded as `unknown` and treated as "not all answered". The truster ranks the pair twice,
concurrently, once in each order, because LLM rankers favour a position; the refinement is kept
only when both rankings prefer it (both are recorded in `metadata["trust"]`). An unreadable
ranking keeps the draft, since a refinement must earn trust. When the draft and the refinement
have the same extracted answer, ranking them cannot change the answer, so the truster is not called.
"""

from __future__ import annotations

import re

from redraft.context import Context, both
from redraft.feedback.asker import AskerFeedback, last_match
from redraft.strategies.base import Final, Strategy
from redraft.strategies.registry import register
from redraft.tasks.base import Problem
from redraft.trace import Candidate, Feedback, Verdict

REFINE_PROMPT = """\
Problem:
{problem}

Your previous solution:
{draft}

Solving the problem requires answering these subquestions, and your solution may not answer them all:
{questions}

Solve the problem again: answer each subquestion in turn, then give the final answer in the form \
the problem asks for."""

TRUST_PROMPT = """\
Two solutions to the same problem follow. Check each one step by step and decide which is more \
likely to be correct.
End with exactly one line: "BEST: 1" or "BEST: 2".

Problem:
{problem}

Solution 1:
{first}

Solution 2:
{second}"""

BEST = re.compile(r"best\s*[:=\-]\s*[*_]*\s*(?:solution\s*)?([12])\b", re.IGNORECASE)


@register
class Art(Strategy):
    name = "art"
    paper = "The ART of LLM Refinement: Ask, Refine, and Trust (Shridhar et al., 2023)"
    summary = "an asker's subquestions decide whether to refine; a truster picks draft or refinement"
    roles = ("generator", "asker", "refiner", "truster")

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        draft = ctx.record(round=0, kind="draft", text=await ctx.first_draft(problem))
        asked = await ctx.judge(self.feedback or AskerFeedback(), problem, draft)
        if asked.verdict is Verdict.OK:
            return Final(candidate=draft, stop_reason="all_answered")
        prompt = REFINE_PROMPT.format(problem=problem.prompt, draft=draft.text, questions=asked.text)
        refined_text = await ctx.ask("refiner", prompt)
        refined = ctx.record(round=1, kind="refine", text=refined_text, parent=draft.seq)
        if refined.answer is not None and refined.answer == draft.answer:
            best, best_swapped, reason = None, None, "same_answer"
            trust = Feedback(verdict=Verdict.OK, text="same answer as the draft; not ranked")
        else:
            best, best_swapped, reason, trust = await self._trust(problem, draft, refined, ctx)
        chosen = "refinement" if trust.verdict is Verdict.OK else "draft"
        refined.metadata["trust"] = {"best": best, "best_swapped": best_swapped, "chosen": chosen,
                                     "reason": reason}
        ctx.annotate(refined, trust)  # the truster's word on the refinement: OK means it is trusted
        return Final(candidate=self.select(ctx.candidates), stop_reason=reason)

    async def _trust(self, problem: Problem, draft: Candidate, refined: Candidate,
                     ctx: Context) -> tuple[str | None, str | None, str, Feedback]:
        """Rank draft vs refinement in both orders; OK only when both orders prefer the refinement."""
        forward, swapped = await both(
            ctx.ask("truster", TRUST_PROMPT.format(problem=problem.prompt, first=draft.text,
                                                   second=refined.text)),
            ctx.ask("truster", TRUST_PROMPT.format(problem=problem.prompt, first=refined.text,
                                                   second=draft.text)))
        best, best_swapped = last_match(BEST, forward), last_match(BEST, swapped)
        if best is None or best_swapped is None:
            verdict, reason = Verdict.UNKNOWN, "unparsed_trust"
        else:
            verdict = Verdict.OK if (best, best_swapped) == ("2", "1") else Verdict.REVISE
            reason = "ranked"
        text = f"Draft first:\n{forward.strip()}\n\nRefinement first:\n{swapped.strip()}"
        return best, best_swapped, reason, Feedback(verdict=verdict, text=text)

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The refinement if the truster chose it, else the draft (also when cut off before trust)."""
        refined = next((c for c in candidates if c.kind == "refine"), None)
        if refined is not None and refined.verdict is Verdict.OK:
            return refined
        return candidates[0] if candidates else None

"""Self-Contrast (Zhang et al. 2024): solve from several perspectives, contrast, revise to agree.

    P = M(perspectives | x)                     one call, a numbered list of P solving perspectives
    y_p = M(x seen from p), for p in P          in parallel (first attempts: composable drafts)
    keep one y per distinct extracted answer;   all agree -> stop, return it (nothing to contrast)
    d_ij = M(contrast | x, y_i, y_j)            for pairs of kept solutions, in parallel (capped)
    c = M(checklist | x, d_*)                   one call: discrepancies -> checklist
    y'_i = M(revise | x, y_i, c)                for each kept y_i, in parallel
    final = vote over the y'_i answers, each weighted by the size of the answer cluster its y_i
            stands for (ties: first seen, and recorded in the vote)

The paper lets the model propose more perspectives and picks dissimilar
representatives by clustering; here `perspectives` defaults to 3 and the
"keep mutually different" step compares extracted answers, the same thing the
final vote compares. Three perspectives cost at most 1 + 3 + 3 + 1 + 3 = 11
calls, in line with the other methods at their defaults. If the model lists fewer
perspectives than asked, generic ones fill the gap (recorded as `fallback`).
A feedback source, when given, judges each revision and its score multiplies
the weight. Weighting by cluster size keeps the vote faithful to the perspectives:
three solutions that agreed on 4 and one that said 5 are two revisions after
"keep one per answer", and an unweighted vote would make that a 1-1 tie broken
by perspective order. The vote (with any tie) is kept on the chosen candidate.
"""

from __future__ import annotations

import re
from itertools import combinations

from pydantic import BaseModel, Field

from redraft.context import Context, gather
from redraft.strategies.base import Final, Strategy
from redraft.strategies.registry import register
from redraft.strategies.voting import Vote, vote
from redraft.tasks.base import Problem
from redraft.trace import Candidate, Feedback, Verdict

PERSPECTIVES_PROMPT = """\
Do not solve the request below yet. Propose {n} different perspectives from which it \
could be solved: distinct methods, roles or ways of checking that would catch different \
mistakes. Write each as a one-line instruction to a solver, as a numbered list \
("1. ...").

Request:
{problem}"""

SOLVE_PROMPT = "Solve the request below from this perspective: {perspective}\n\n{problem}"

CONTRAST_PROMPT = """\
Two solutions to the same request disagree. Compare them step by step and list every \
discrepancy: where their reasoning, calculations or assumptions differ, and for each, \
what must be checked to decide which side is right.

Request:
{problem}

Solution A:
{a}

Solution B:
{b}"""

CHECKLIST_PROMPT = """\
Below are discrepancies found between different solutions to the same request. \
Summarize them into a checklist: a numbered list of concrete points to re-examine, each \
saying exactly what to verify.

Request:
{problem}

Discrepancies:
{discrepancies}"""

REVISE_PROMPT = """\
Other solutions to this request reached different results. Re-examine your solution \
against every item of the checklist, fix whatever is wrong, and write the complete revised \
solution ending with the final answer.

Request:
{problem}

Your solution:
{solution}

Checklist:
{checklist}"""

FALLBACK_PERSPECTIVES = [
    "Solve it directly, step by step.",
    "Work backwards from what is asked, then verify every condition.",
    "Use a different method than the obvious one, then check the result.",
    "Act as a careful examiner: restate every given fact before using it.",
]

NUMBERED = re.compile(r"^\s*\**\s*(\d+)\s*[.):]\s*\**\s*(.+?)\s*$", re.MULTILINE)


def parse_numbered(text: str) -> list[str]:
    """The items of a numbered list, in order ("1. a", "2) b"); empty when there is none."""
    return [item.strip("* ") for _, item in NUMBERED.findall(text) if item.strip("* ")]


def seen_from(problem: Problem, perspective: str) -> Problem:
    """The problem as one perspective's solver sees it; a composed drafter solves this version."""
    return problem.model_copy(update={"prompt": SOLVE_PROMPT.format(perspective=perspective,
                                                                    problem=problem.prompt)})


def distinct(candidates: list[Candidate]) -> list[Candidate]:
    """The first candidate of each distinct extracted answer (no answer counts as one answer)."""
    seen: dict[str | None, Candidate] = {}
    for candidate in candidates:
        seen.setdefault(candidate.answer, candidate)
    return list(seen.values())


@register
class SelfContrast(Strategy):
    name = "self_contrast"
    paper = "Self-Contrast: Better Reflection Through Inconsistent Solving Perspectives (Zhang et al., 2024)"
    summary = "solve from several perspectives, contrast the disagreements, revise against a checklist"
    roles = ("planner", "generator", "critic", "refiner")

    class Params(BaseModel):
        perspectives: int = Field(3, ge=2, description="solving perspectives (the paper explores more)")
        max_pairs: int = Field(3, ge=1, description="cap on pairwise contrasts")

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        n = self.params.perspectives
        listing = await ctx.ask("planner", PERSPECTIVES_PROMPT.format(n=n, problem=problem.prompt))
        proposed = parse_numbered(listing)[:n]
        chosen = proposed + FALLBACK_PERSPECTIVES[: n - len(proposed)]
        texts = await gather(*(ctx.first_draft(seen_from(problem, p)) for p in chosen))
        solutions = [
            ctx.record(round=0, kind="perspective", text=text, metadata={
                "perspective": p, "source": "model" if i < len(proposed) else "fallback"})
            for i, (p, text) in enumerate(zip(chosen, texts, strict=True))
        ]
        kept = distinct(solutions)
        if len(kept) == 1:
            return Final(candidate=self.select(ctx.candidates), stop_reason="consistent")

        pairs = list(combinations(kept, 2))[: self.params.max_pairs]
        contrasts = await gather(*(ctx.ask("critic", CONTRAST_PROMPT.format(
            problem=problem.prompt, a=a.text, b=b.text)) for a, b in pairs))
        discrepancies = "\n\n".join(f"Between solutions {kept.index(a) + 1} and {kept.index(b) + 1}:\n"
                                    f"{c.strip()}" for (a, b), c in zip(pairs, contrasts, strict=True))
        checklist = (await ctx.ask("critic", CHECKLIST_PROMPT.format(
            problem=problem.prompt, discrepancies=discrepancies))).strip()
        for candidate in kept:
            ctx.annotate(candidate, Feedback(verdict=Verdict.REVISE, text=checklist))

        revised = await gather(*(ctx.ask("refiner", REVISE_PROMPT.format(
            problem=problem.prompt, solution=c.text, checklist=checklist)) for c in kept))
        revisions = [ctx.record(round=1, kind="revision", text=r, parent=c.seq)
                     for c, r in zip(kept, revised, strict=True)]
        if self.feedback is not None:
            await ctx.judge_all(self.feedback, problem, revisions)
        final = self.select(ctx.candidates)
        if final is not None:  # the vote, ties included, kept on the winner (select stays pure)
            final.metadata["vote"] = self.tally(ctx.candidates).model_dump()
            ctx.update(final)
        return Final(candidate=final, stop_reason="revised")

    def pool(self, candidates: list[Candidate]) -> list[Candidate]:
        """What the final vote is over: the revisions, else (cut off, or consistent) the solutions."""
        return ([c for c in candidates if c.kind == "revision"]
                or [c for c in candidates if c.kind == "perspective"] or candidates)

    def tally(self, candidates: list[Candidate]) -> Vote:
        """Each revision weighs its answer cluster's size (times its score with a feedback source)."""
        pool = self.pool(candidates)
        perspectives = [c for c in candidates if c.kind == "perspective"]
        by_seq = {c.seq: c for c in perspectives}

        def weight(candidate: Candidate) -> float | None:
            origin = by_seq.get(candidate.parent) if candidate.parent is not None else None
            size = sum(p.answer == origin.answer for p in perspectives) if origin is not None else 1
            if self.feedback is None:
                return float(size)
            return None if candidate.score is None else size * candidate.score  # unscored: apart

        return vote([c.answer for c in pool], [weight(c) for c in pool])

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The first candidate of the winning answer in the cluster-weighted vote. Pure."""
        pool = self.pool(candidates)
        if not pool:
            return None
        result = self.tally(candidates)
        return pool[0] if result.winner is None else next(c for c in pool if c.answer == result.winner)

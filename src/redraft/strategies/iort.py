"""IoRT, Instruct-of-Reflection (Liu et al. 2024): an instructor steers iterative reflection.

    m = M(meta-thought | x)  concurrently  R_b = M(x)       # the meta-thinker; the base answer
    for t in 1..N (N = 4):
        R_r = M(x) from scratch            if the instructor said "refresh" last iteration
              else M(refine | x, R_b, f),  f = feedback(x, R_b)      # reflect on R_b
        if answer(R_r) != answer(R_b):     # the consistency check: extracted answers, no call
            R_b = instructor(select | m, R_b, R_r)           # the better one is the next base
        elif t == N: stop                  # a refresh could not be answered any more: no call
        else:
            R_b = R_r; instructor(stop or refresh | m, R_b, R_r)
            "stop" -> stop (both sound);  "refresh" -> both fail: next R_r is a fresh answer
    final = the last selected answer (R_b)

Temperature 0.3 for every call, as in the paper. The instructor is a role of its own
(`--role instructor=MODEL`; it falls back to the critic): it sees the meta-thought, the
question and both answers. An answer that cannot be extracted agrees with nothing, so two
unreadable answers go to the instructor to select, never to "stop". Where the authors' code
reads a reply it cannot parse as "keep the base" (select) or "end the iteration" (stop or
refresh), so does this; the reply is recorded and the stop reason says so.

Each iteration is one round (its R_r is recorded at round t), so an evaluation reports IoRT's
average iterations as its rounds per problem (`rounds_per_problem`), beside its calls: the
paper's claim is 18.8-27.6% fewer calls than static reflection. The meta-thought is written
from a short static few-shot set (the authors retrieve 6-8 similar examples with BERT; that
retrieval is left out). The reflection is the feedback source's critique (the default critic;
`@oracle` makes it an oracle run, labelled as such).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel, Field

from redraft.context import Context, both
from redraft.feedback.base import FeedbackSource
from redraft.feedback.critic import CriticFeedback
from redraft.strategies.base import Final, Strategy
from redraft.strategies.registry import register
from redraft.strategies.self_refine import refine_messages
from redraft.tasks.base import Problem
from redraft.trace import Candidate

META_PROMPT = """\
You are a meta-thinker, skilled in abstract reasoning. For a question, write its meta-thought: \
the knowledge, the analytical method and the basic strategy needed to solve it, in one to three \
sentences. Do not solve the question.

Question: A shop sold 12 cakes in the morning and twice as many in the afternoon. How many cakes \
did it sell that day?
Meta-thought: Find the afternoon sales by doubling the morning sales, then add the two amounts.

Question: Is a lion more closely related to a house cat than to a wolf?
Meta-thought: Recall the biological families involved (felids and canids) and compare which \
animals share a family.

Question: {problem}
Meta-thought:"""
CASE = """\
Question:
{problem}

Meta-thought:
{meta}

Answer 1:
{first}

Answer 2:
{second}"""
SELECT_PROMPT = """\
The two answers below reach different final answers. Using the meta-thought, judge which \
answer solves the question better and explain why.
End with exactly one line: "BETTER: 1" or "BETTER: 2".

{case}"""
DECIDE_PROMPT = """\
The two answers below reach the same final answer. Using the meta-thought, decide whether \
they are both sound, so the iteration can stop, or whether they share the same mistake, so \
a new answer should be written from scratch.
End with exactly one line: "DECISION: stop" or "DECISION: refresh".

{case}"""

BETTER_LINE = re.compile(r"better(?:\s+answer)?\s*[:=\-]\s*\**\s*(?:answer\s*)?([12])\b", re.IGNORECASE)
DECISION_LINE = re.compile(r"decision\s*[:=\-]\s*\**\s*(stop|refresh|end)", re.IGNORECASE)


def parse_choice(text: str) -> Literal["base", "refined"] | None:
    """The answer the last `BETTER: 1|2` line names (1 is the base), else None."""
    for line in reversed(text.strip().splitlines()):
        if match := BETTER_LINE.search(line):
            return "base" if match.group(1) == "1" else "refined"
    return None


def parse_decision(text: str) -> Literal["stop", "refresh"] | None:
    """The last `DECISION: stop|refresh` line's value ("end" reads as stop), else None."""
    for line in reversed(text.strip().splitlines()):
        if match := DECISION_LINE.search(line):
            return "refresh" if match.group(1).lower() == "refresh" else "stop"
    return None


def agreeing(base: Candidate, refined: Candidate) -> bool:
    """The consistency check: the same extracted answer (an unreadable one agrees with nothing)."""
    return base.answer is not None and base.answer == refined.answer


@register
class IoRT(Strategy):
    name = "iort"
    paper = (
        "Instruct-of-Reflection: Enhancing Large Language Models Iterative Reflection Capabilities "
        "via Dynamic-Meta Instruction (Liu et al., 2024)"
    )
    summary = (
        "reflect and refine; an instructor selects when base and refinement disagree, "
        "says stop or refresh when they agree"
    )
    roles = ("generator", "planner", "critic", "refiner", "instructor")

    class Params(BaseModel):
        max_iterations: int = Field(4, ge=1, description="iterations N (the paper: 4)")
        temperature: float = Field(0.3, ge=0, description="temperature of every call (the paper: 0.3)")
        max_history_tokens: int = Field(2000, ge=1, description="trim the refined attempt beyond this")

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        view = ctx.sampled(temperature=self.params.temperature)
        feedback = self.feedback or CriticFeedback()
        meta, draft = await both(
            view.ask("planner", META_PROMPT.format(problem=problem.prompt)), view.first_draft(problem)
        )
        meta = meta.strip()
        base = view.record(
            round=0, kind="draft", text=draft, metadata={"meta_thought": meta, "selected": True}
        )
        refresh = False
        for t in range(1, self.params.max_iterations + 1):
            refined = await (
                self.fresh(problem, t, view) if refresh else self.reflect(problem, t, base, feedback, view)
            )
            refresh, case = False, self.case(problem, meta, base, refined)
            agree = refined.metadata["agrees_with_base"] = agreeing(base, refined)  # no call
            if not agree:
                choice = await self.instruct(view, refined, SELECT_PROMPT.format(case=case), parse_choice)
                base = self.selected(view, refined) if choice == "refined" else base
                continue
            base = self.selected(view, refined)  # the same answer; the latest reasoning for it
            if t == self.params.max_iterations:
                break
            decision = await self.instruct(view, refined, DECIDE_PROMPT.format(case=case), parse_decision)
            if decision != "refresh":
                return Final(
                    candidate=self.select(ctx.candidates),
                    stop_reason="instructor_stop" if decision else "unparsed_decision",
                )
            refresh = True
        return Final(candidate=self.select(ctx.candidates), stop_reason="max_iterations")

    async def reflect(
        self, problem: Problem, t: int, base: Candidate, feedback: FeedbackSource, ctx: Context
    ) -> Candidate:
        """R_r: the feedback source's critique of R_b, then a refinement given it (Self-Refine's prompt)."""
        critique = await ctx.judge(feedback, problem, base)
        messages = refine_messages(problem, [(base.text, critique.text)], self.params.max_history_tokens)
        text = (await ctx.complete("refiner", messages)).text
        return ctx.record(round=t, kind="refine", text=text, parent=base.seq)

    @staticmethod
    async def fresh(problem: Problem, t: int, ctx: Context) -> Candidate:
        """R_r after a "refresh": a new answer from scratch."""
        return ctx.record(round=t, kind="refresh", text=await ctx.first_draft(problem))

    @staticmethod
    async def instruct(
        ctx: Context, refined: Candidate, prompt: str, parse: Callable[[str], str | None]
    ) -> str | None:
        """One instructor call; what it said (or "unparsed") is kept on the refined answer."""
        reply = await ctx.ask("instructor", prompt)
        said = parse(reply)
        refined.metadata |= {"instructor": said or "unparsed", "instruction": reply.strip()}
        ctx.update(refined)
        return said

    @staticmethod
    def case(problem: Problem, meta: str, base: Candidate, refined: Candidate) -> str:
        return CASE.format(problem=problem.prompt, meta=meta, first=base.text, second=refined.text)

    @staticmethod
    def selected(ctx: Context, candidate: Candidate) -> Candidate:
        candidate.metadata["selected"] = True
        return ctx.update(candidate)

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The paper's rule: the last answer selected as the base (the draft until one is)."""
        chosen = [c for c in candidates if c.metadata.get("selected")]
        return chosen[-1] if chosen else (candidates[-1] if candidates else None)

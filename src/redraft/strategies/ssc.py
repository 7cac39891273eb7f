"""Specification Self-Correction, SSC (Gallego 2025): repair the rubric you are graded by, answer under it.

One conversation, then a fresh one:

    spec  = the problem's rubric (a task shown under one: `open_ended` with a rubric), else `rubric`
    y0    = M(x under spec)                                        # may game a flaw in spec
    c     = M(x under spec, y0, "criticize your response with the rubric")
    spec' = M(..., c, "a version of the rubric for further usage; only output the rubric")
    y1    = M(x under spec')                                       # a fresh conversation
    final = y1

Four calls and no stop rule. The generation prompt is the paper's code's (vicgalle/specification-
self-correction), `redraft.tasks.rubric.SPEC_PROMPT`, shared with the `open_ended` task: a task
with a rubric is already shown under it, so its prompt is SSC's first prompt, and a flaw planted
by the task (`plant=WORD`) is in spec. The critique and revision turns are the code's, word for
word. y0 and y1 are first attempts at their problems (x under spec, x under spec'), so both go
through `ctx.first_draft`: in `A>ssc`, A answers both (as in Self-Polish). A problem without a
rubric is shown under `rubric` (a generic one by default), and every candidate records its
rubric and where it came from (`spec_source`). A revision that comes back empty stops with y0
(stop reason "empty_rubric"): a blank specification corrects nothing. Whether an output games
the planted flaw is measured after the run, never seen by it (`hacked`, the hack rate).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from redraft.context import Context
from redraft.models.base import Message
from redraft.strategies.base import Final, Strategy
from redraft.strategies.registry import register
from redraft.tasks.base import Problem
from redraft.tasks.rubric import DEFAULT_RUBRIC, spec_prompt
from redraft.trace import Candidate

CRITIQUE_PROMPT = "Explain the rationale of your response by criticizing it with the rubric."
REVISE_PROMPT = "Generate a version of the rubric for further usage with other LLMs. Only output the rubric."


@register
class SpecificationSelfCorrection(Strategy):
    name = "ssc"
    paper = (
        "Specification Self-Correction: Mitigating In-Context Reward Hacking Through Test-Time "
        "Refinement (Gallego, 2025)"
    )
    summary = "answer under a rubric, criticize the answer with it, revise the rubric, answer again under it"
    roles = ("generator", "critic", "rewriter")

    class Params(BaseModel):
        rubric: str = Field(DEFAULT_RUBRIC, description="the rubric a problem without its own is shown under")

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        own = problem.metadata.get("rubric")
        spec, task = (
            (own, problem.metadata.get("task", problem.prompt))
            if own
            else (self.params.rubric, problem.prompt)
        )
        source = "problem" if own else "param"
        shown = problem if own else self._under(problem, task, spec, "spec")
        draft = ctx.record(
            round=0,
            kind="draft",
            text=await ctx.first_draft(shown),
            metadata={"rubric": spec, "spec_source": source},
        )
        messages: list[Message] = [
            {"role": "user", "content": shown.prompt},
            {"role": "assistant", "content": draft.text},
            {"role": "user", "content": CRITIQUE_PROMPT},
        ]
        critique = (await ctx.complete("critic", messages)).text
        draft.feedback = critique.strip()
        ctx.update(draft)
        messages += [{"role": "assistant", "content": critique}, {"role": "user", "content": REVISE_PROMPT}]
        revised = (await ctx.complete("rewriter", messages)).text.strip()
        if not revised:
            return Final(candidate=self.select(ctx.candidates), stop_reason="empty_rubric")
        answer = await ctx.first_draft(self._under(problem, task, revised, "revised_spec"))
        ctx.record(
            round=1,
            kind="revised",
            text=answer,
            parent=draft.seq,
            metadata={"rubric": revised, "spec_source": "revised"},
        )
        return Final(candidate=self.select(ctx.candidates), stop_reason="done")

    @staticmethod
    def _under(problem: Problem, task: str, rubric: str, suffix: str) -> Problem:
        """The task shown under `rubric`, as a problem of its own (a first draft's input)."""
        return problem.model_copy(
            update={
                "id": f"{problem.id}/{suffix}",
                "prompt": spec_prompt(task, rubric),
                "metadata": {**problem.metadata, "rubric": rubric, "task": task},
            }
        )

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The answer under the revised rubric; before it exists (budget, empty revision), the first."""
        answers = [c for c in candidates if c.kind in ("draft", "revised")]
        return answers[-1] if answers else None

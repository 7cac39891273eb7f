"""GSR, generative self-refinement (Wang et al. 2025): sample N, then synthesize from all N at once.

    y_1..y_N ~ M(x) at temperature T, in parallel
    [optional] fb_i = feedback(x, y_i), in parallel          (only when a feedback source is given)
    y* = M(refine | x, y_1..y_N [, fb_1..fb_N])              one call sees every candidate
    final = y*   (it may be right when every y_i is wrong)

Unlike voting, the synthesis can reject a majority or combine partial
solutions. The majority vote over the N samples' extracted answers is kept in
the synthesis' `metadata["majority_answer"]`, so an evaluation can report the
"refinement gap" (GSR accuracy minus majority vote at the same N) from one run.
If the budget cuts the synthesis call, the final answer is the majority-vote
sample. The paper uses no judge; a feedback source, when given, judges each
sample and its judgement is shown to the refiner next to the candidate (useful
with tests: the refiner then sees which candidates fail which asserts).

RSA (`strategies.rsa`) repeats this step over a population; it shares the
synthesis prompt and the majority rule defined here.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from redraft.context import Context
from redraft.strategies.base import MAX_SAMPLES, Final, Strategy
from redraft.strategies.registry import register
from redraft.strategies.voting import Vote, vote
from redraft.tasks.base import Problem
from redraft.trace import Candidate

SYNTHESIZE_PROMPT = """\
Here is a problem and {n} candidate solutions. Some may be \
correct, some wrong, and possibly all of them are wrong. Examine each candidate \
critically: check its reasoning step by step, note where candidates disagree and which \
of them is right there. Then write one new, complete and correct solution of your own, \
ending with the final answer. Do not just copy the majority.

Problem:
{problem}

{candidates}"""

CANDIDATE_BLOCK = "Candidate {index}:\n{text}"
FEEDBACK_BLOCK = "Feedback on candidate {index}:\n{feedback}"


def synthesis_prompt(problem: Problem, samples: list[Candidate]) -> str:
    """The one refine prompt: the problem and every candidate (with its feedback, when judged)."""
    blocks = []
    for index, sample in enumerate(samples, start=1):
        blocks.append(CANDIDATE_BLOCK.format(index=index, text=sample.text.strip()))
        if sample.feedback:
            blocks.append(FEEDBACK_BLOCK.format(index=index, feedback=sample.feedback))
    return SYNTHESIZE_PROMPT.format(n=len(samples), problem=problem.prompt, candidates="\n\n".join(blocks))


def majority(samples: list[Candidate]) -> tuple[Candidate | None, Vote]:
    """The first sample carrying the majority answer (ties: first seen), and the vote itself."""
    result = vote([s.answer for s in samples])
    if result.winner is None:
        return (samples[0] if samples else None), result
    return next(s for s in samples if s.answer == result.winner), result


@register
class GSR(Strategy):
    name = "gsr"
    paper = "Learning to Reason with Generative Self-Refinement (Wang et al., 2025)"
    summary = "sample N in parallel, one call synthesizes a new solution from all N"
    roles = ("generator", "refiner")

    class Params(BaseModel):
        n: int = Field(4, ge=1, le=MAX_SAMPLES,
                       description="parallel samples shown to the refiner (paper: N = 4)")
        temperature: float = Field(0.7, ge=0, description="sampling temperature of the N samples")

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        samples = await ctx.sample_candidates(problem, self.params.n, temperature=self.params.temperature)
        if self.feedback is not None:
            await ctx.judge_all(self.feedback, problem, samples)
        voted, result = majority(samples)
        if voted is not None:  # kept on the majority sample now, so a budget cut still shows it
            voted.metadata.update(majority_answer=result.winner, vote=result.model_dump())
            ctx.update(voted)
        prompt = synthesis_prompt(problem, samples)
        synthesis = await ctx.ask("refiner", prompt)
        final = ctx.record(round=1, kind="synthesis", text=synthesis, metadata={
            "majority_answer": result.winner, "vote": result.model_dump(),
        })
        return Final(candidate=final, stop_reason="synthesized")

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The synthesis; without one (budget), the majority-vote sample."""
        synthesized = [c for c in candidates if c.kind == "synthesis"]
        if synthesized:
            return synthesized[-1]
        chosen, _ = majority([c for c in candidates if c.kind == "sample"] or candidates)
        return chosen

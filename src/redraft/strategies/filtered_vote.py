"""Critique-filtered voting (Critic-CoT, Zheng et al. 2024; CriticBench, Lin et al. 2024).

    y_1..y_k ~ M(x) at temperature T > 0, in parallel
    c_i = critic(x, y_i) for every i, concurrently: "Step j is correct/incorrect" per step,
          then a verdict line
    survivors = the y_i whose critique did not judge them wrong
    final = a y_i whose extracted answer wins the majority vote over the survivors
            (over all k when none survives)

2k calls: k samples, k critiques. A critique that judges a step incorrect drops its sample, verdict
line or not; one whose verdict cannot be parsed and that names no wrong step did not judge its
sample wrong, so the sample stays in the vote (its verdict is recorded as unknown).
The critic is the feedback source (by default a step-by-step `critic`; `@oracle` makes the
filter an oracle, labelled as such).

The papers compare the filter with plain self-consistency at k and at 2k samples (equal
calls). Both come out of an evaluation with little new machinery: the k samples are recorded
as `sample` candidates, so the report's majority vote over the strategy's own samples is
self-consistency at k on the very same samples (and the refinement gap is the filter's gain
over it); with a `self_consistency[k=2k]` (or larger) run in the same evaluation, the report
also compares it, paired, with self-consistency re-voted at its own calls per problem
(`vs_self_consistency_at_calls`: "vs self-consistency at equal calls" under the table).
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from redraft.context import Context
from redraft.feedback.critic import CriticFeedback
from redraft.strategies.base import MAX_SAMPLES, Final, Strategy
from redraft.strategies.registry import register
from redraft.strategies.voting import Vote, vote
from redraft.tasks.base import Problem
from redraft.trace import Candidate, Verdict

STEP_CRITIC_PROMPT = """\
Check the solution to the problem below one step at a time. For each step write one line, \
"Step N is correct." or "Step N is incorrect: <the mistake>".
Then end with exactly one line: "VERDICT: correct" if every step is correct, or \
"VERDICT: incorrect" otherwise.

Problem:
{problem}

Solution:
{candidate}"""


#: A step the critic judged wrong ("Step 3 is incorrect: ..."), whatever its verdict line says.
WRONG_STEP = re.compile(r"\bstep\s*\d+\s*(?:is|was)\s*(?:incorrect|wrong|not correct)\b", re.IGNORECASE)


def survives(candidate: Candidate) -> bool:
    """Not judged wrong: no step judged incorrect (the papers drop a sample with a wrong step, even
    when its critique was cut off before the verdict line) and a verdict that is not "revise"
    (OK, unparsed, or none when the budget cut the critique)."""
    if candidate.feedback and WRONG_STEP.search(candidate.feedback):
        return False
    return candidate.verdict is not Verdict.REVISE


@register
class FilteredVote(Strategy):
    name = "filtered_vote"
    paper = (
        "Critic-CoT: Boosting the Reasoning Abilities of Large Language Model via Chain-of-Thoughts "
        "Critic (Zheng et al., 2024); CriticBench (Lin et al., 2024)"
    )
    summary = "k samples, a step-by-step critique of each, majority vote over those not judged wrong"
    roles = ("generator", "critic")

    class Params(BaseModel):
        k: int = Field(
            5,
            ge=1,
            le=MAX_SAMPLES,
            description="samples (as self_consistency; Critic-CoT votes over up to 96)",
        )
        temperature: float = Field(0.7, ge=0, description="sampling temperature of the samples")

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        critic = self.feedback or CriticFeedback(STEP_CRITIC_PROMPT)
        samples = await ctx.sample_candidates(problem, self.params.k, temperature=self.params.temperature)
        await ctx.judge_all(critic, problem, samples)
        chosen = self.select(samples)
        assert chosen is not None  # sample_candidates gives at least one sample or raises
        survivors = sum(survives(c) for c in samples)
        chosen.metadata |= {"vote": self.tally(samples).model_dump(), "survivors": survivors}
        ctx.update(chosen)
        return Final(candidate=chosen, stop_reason="voted" if survivors else "none_survived")

    @staticmethod
    def pool(candidates: list[Candidate]) -> list[Candidate]:
        """The samples that vote: the survivors, or all of them when the critic rejected every one."""
        samples = [c for c in candidates if c.kind == "sample"] or candidates
        return [c for c in samples if survives(c)] or samples

    def tally(self, candidates: list[Candidate]) -> Vote:
        return vote([c.answer for c in self.pool(candidates)])

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        pool = self.pool(candidates)
        if not pool:
            return None
        winner = self.tally(candidates).winner
        return next((c for c in pool if c.answer == winner), pool[0]) if winner is not None else pool[0]

"""P(True) selection (Kadavath et al. 2022): the model judges each of its samples, read from logprobs.

    y_1..y_k ~ M(x) at temperature T = 1, in parallel
    for each i, in parallel:                                         (role "verifier", temperature 0)
        p_i = P(True | x, brainstormed ideas = the other samples, proposed answer = y_i)
              read from the top logprobs of the reply's first "(A)"/"(B)" (or True/False) token
    score(a) = sum of p_i over the samples whose extracted answer is a
    final = the first sample carrying the answer with the highest score

The question is the paper's multiple-choice self-evaluation ("Is the proposed answer: (A) True
(B) False"), asked of the model's own samples; showing it the other T = 1 samples as
"brainstormed ideas" is what the paper found improves it (section 4.2), so that is the default
(`brainstorm="samples"`; "answers" shows only their extracted answers, shorter for long
reasoning; "none" is the plain one-sample format). P(True) is P(A) / (P(A) + P(B)) at the first
token that names an option (`models.logprobs.option_probability`). A reply naming no option has
no P(True): it is recorded (`metadata["unreadable"]`), and that sample votes with no weight; when
no sample has one, the vote is a plain majority, so the run still answers and says why.

It needs token logprobs in the verifier role (a model capability): a run on a model without them
is refused before any call. 1 verifier call per sample: 2k calls.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from redraft.context import Context, gather
from redraft.feedback.base import FeedbackSource
from redraft.models.base import MAX_TOP_LOGPROBS
from redraft.models.logprobs import option_probability
from redraft.strategies.base import MAX_SAMPLES, Final, Strategy, StrategyError
from redraft.strategies.registry import register
from redraft.strategies.voting import Vote, vote
from redraft.tasks.base import Problem
from redraft.trace import Candidate

PTRUE_PROMPT = """\
Question: {problem}
{brainstorm}Proposed answer: {answer}
Is the proposed answer correct?
 (A) True
 (B) False
The proposed answer is:"""

BRAINSTORM = "Here are some brainstormed ideas:\n{ideas}\n"

TRUE_LABELS = ("A", "True", "true", "TRUE")
FALSE_LABELS = ("B", "False", "false", "FALSE")
#: The reply needs a few tokens at most ("(A) True", "The proposed answer is (A)").
PTRUE_MAX_TOKENS = 16


def ptrue_prompt(problem: Problem, answer: str, ideas: list[str]) -> str:
    brainstorm = BRAINSTORM.format(ideas="\n".join(i.strip() for i in ideas)) if ideas else ""
    return PTRUE_PROMPT.format(problem=problem.prompt, brainstorm=brainstorm, answer=answer.strip())


async def p_true(ctx: Context, problem: Problem, answer: str, ideas: list[str]) -> tuple[float | None, str]:
    """P(True) that `answer` is correct, by the verifier, and its reply (None: the reply named no option).

    Greedy and short, with no judging floor on `max_tokens`: it is a probability that is read,
    not a critique.
    """
    completion = await ctx.complete(
        "verifier",
        [{"role": "user", "content": ptrue_prompt(problem, answer, ideas)}],
        logprobs=True,
        top_logprobs=MAX_TOP_LOGPROBS,
        temperature=0.0,
        max_tokens=PTRUE_MAX_TOKENS,
        judge_max_tokens=None,
    )
    return option_probability(completion.logprobs or [], TRUE_LABELS, FALSE_LABELS), completion.text


@register
class PTrue(Strategy):
    name = "ptrue"
    paper = "Language Models (Mostly) Know What They Know (Kadavath et al., 2022)"
    summary = "k samples; P(True) of each from the verifier's logprobs, the others in context; sum per answer"
    roles = ("generator", "verifier")
    needs_logprobs = ("verifier",)

    class Params(BaseModel):
        k: int = Field(5, ge=1, le=MAX_SAMPLES, description="samples (the paper brainstorms 5 at T = 1)")
        temperature: float = Field(1.0, ge=0, description="sampling temperature (the paper: T = 1)")
        brainstorm: Literal["samples", "answers", "none"] = Field(
            "samples",
            description="what of the other samples each P(True) prompt shows: their texts "
            "(the paper), their extracted answers, or nothing",
        )

    params: Params

    def __init__(self, feedback: FeedbackSource | None = None, **params: Any) -> None:
        super().__init__(feedback, **params)
        if feedback is not None:
            raise StrategyError(
                "ptrue scores samples by the verifier's P(True); give no feedback source "
                "(best_of_n or self_consistency take one)"
            )

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        samples = await ctx.sample_candidates(problem, self.params.k, temperature=self.params.temperature)
        await gather(*(self._judge(problem, samples, i, ctx) for i in range(len(samples))))
        chosen = self.select(samples)
        if chosen is not None:
            chosen.metadata["vote"] = self.tally(samples).model_dump()
            ctx.update(chosen)
        return Final(candidate=chosen, stop_reason="voted")

    async def _judge(self, problem: Problem, samples: list[Candidate], index: int, ctx: Context) -> None:
        """Sample `index`'s P(True), kept on it at once (so a budget cut keeps those already read)."""
        sample = samples[index]
        probability, reply = await p_true(ctx, problem, sample.text, self._ideas(samples, index))
        sample.score = probability
        sample.metadata.update(p_true=probability, verifier_reply=reply)
        if probability is None:
            sample.metadata["unreadable"] = "the verifier's reply names neither (A)/(B) nor True/False"
        ctx.update(sample)

    def _ideas(self, samples: list[Candidate], index: int) -> list[str]:
        """The other samples as the paper's brainstormed ideas (their texts or answers), or none."""
        others = [s for i, s in enumerate(samples) if i != index]
        if self.params.brainstorm == "samples":
            return [s.text for s in others]
        if self.params.brainstorm == "answers":
            return [s.answer for s in others if s.answer is not None]
        return []

    @staticmethod
    def tally(candidates: list[Candidate]) -> Vote:
        """Each answer's summed P(True); a sample with none counts apart (`unscored`), with no weight."""
        samples = [c for c in candidates if c.kind == "sample"]
        return vote([c.answer for c in samples], [c.score for c in samples])

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        samples = [c for c in candidates if c.kind == "sample"]
        if not samples:
            return None
        winner = self.tally(samples).winner
        return next((c for c in samples if c.answer == winner), samples[0])

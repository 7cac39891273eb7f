""""Wait" (Self-Correction Bench, Tsui 2025): let the model keep going after its own answer.

Models correct errors in their own output far less often than in text they are shown as someone
else's; appending " Wait" to the model's finished answer and letting it continue the *same*
assistant turn closes much of that blind spot, with no feedback at all:

    y = M(x)
    for r in 1..R (R = 1):
        y = y + " Wait" + M(x, assistant prefix = y + " Wait")   # continue_final, not a new turn
    final = y, its answer read from the whole continued text

The continuation needs the model layer's assistant-prefill path (`continue_final=True`): vLLM's
`continue_final_message`, or the embedded model's raw completion of the open chat template. The
draft's trailing whitespace is dropped before " Wait" so the marker reads as the next word.

An endpoint that ignores the prefill answers with a *new* assistant turn instead, and the method
silently becomes "append an unrelated second answer". What the reply shows is checked
(`turn_check`): a continuation of "... Wait" starts with whitespace or punctuation (", 2 + 2 is
4", " I made an error"); a new turn starts glued to the marker ("The answer is 4" would read
"WaitThe"), echoes the answer it was given, or restates the question. Each continuation records
`metadata["continued"]` (and the reason when False), and a run with any such round stops with
`stop_reason="not_continued"`, so an evaluation never reports a new turn as "Wait".
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from redraft.context import Context
from redraft.strategies.base import Final, Strategy
from redraft.strategies.registry import register
from redraft.tasks.base import Problem
from redraft.trace import Candidate

MARKER = " Wait"


def turn_check(problem: Problem, prefix: str, continuation: str, marker: str = MARKER) -> str | None:
    """Why `continuation` looks like a new assistant turn rather than the rest of `prefix` (which
    ends with `marker`); None if not.

    Deterministic and conservative: only what a new turn shows and a continuation cannot.
    """
    answer = prefix[: -len(marker)].strip()
    question = problem.prompt.strip()[:60]
    if answer and continuation.lstrip().startswith(answer[:60]):
        return "echoed the answer it was asked to continue"
    if question and question in continuation:
        return "restated the question"
    if continuation and continuation[0].isalnum():
        return "started a new sentence glued to the marker (a new turn, not a continuation)"
    return None


@register
class Wait(Strategy):
    name = "wait"
    paper = ("Self-Correction Bench: Revealing and Addressing the Self-Correction Blind Spot in LLMs "
             "(Tsui, 2025)")
    summary = "append ' Wait' to the model's own answer and let it continue the same turn"
    roles = ("generator",)

    class Params(BaseModel):
        rounds: int = Field(1, ge=0, description="how many times to append ' Wait' and continue")

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        candidate = ctx.record(round=0, kind="draft", text=await ctx.first_draft(problem))
        stop = "max_rounds"
        for round_number in range(1, self.params.rounds + 1):
            prefix = candidate.text.rstrip() + MARKER
            continuation = await ctx.complete(
                "generator",
                [{"role": "user", "content": problem.prompt}, {"role": "assistant", "content": prefix}],
                continue_final=True,
            )
            new_turn = turn_check(problem, prefix, continuation.text)
            metadata = {"continuation": continuation.text, "continued": new_turn is None}
            if new_turn is not None:
                metadata["not_continued"] = new_turn
                stop = "not_continued"
            candidate = ctx.record(
                round=round_number, kind="continue", text=prefix + continuation.text, parent=candidate.seq,
                metadata=metadata,
            )
        return Final(candidate=self.select(ctx.candidates), stop_reason=stop)

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The last continued text: it contains every earlier one, and its last answer wins."""
        return candidates[-1] if candidates else None

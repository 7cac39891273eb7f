"""Injected error (Self-Correction Bench, Tsui 2025): a diagnostic probe, not a method.

Does the model fix an error in its own turn as well as the same error shown to it as a user's? The
probe corrupts one number of the model's own first draft (`redraft.strategies.corruption`: the first
worked-out number, plus one, the draft cut right after that step) and shows the corrupted start one
of two ways, with or without " Wait" right after the corrupted step:

    y = M(x)                                   # the first draft, shared with `direct` via the cache
    e = corrupt(y, x)                          # None: no number to corrupt, stop ("no_corruptible_number")
    s = e.prefix + (" Wait" if wait else "")
    turn=own:   final = s + M(x, assistant prefix = s)      # continue_final: the same assistant turn
    turn=user:  final = M(USER_PROMPT(x, s))                # a new turn, checking a user's attempt

The answer is read from the whole continued text (own; the prefix holds no answer, so it is the
continuation's) or from the reply (user). Whether the draft was right is the evaluation's business
(the first round's score): the strategy never sees the reference, so it probes every draft, and
`redraft.studies.blind_spot` keeps the problems whose draft was right.

`turn=own` needs the model layer's assistant-prefill path (`continue_final=True`, as `wait`). A
reply that looks like a new turn instead (`wait.turn_check`) is recorded with
`metadata["continued"] = False` and the run stops with `stop_reason="not_continued"`, so a new turn is
never counted as a continuation.

**The user-turn prompt** is ours, not the paper's. The paper's code (kenhktsui/self-correction-bench,
`dataset_construction/create_gsm8k_sc.py`) puts the question and the erroneous reasoning in one user
message with no instruction at all; here the attempt is labelled as such and the model is asked to
check it, find any error and finish with the final answer, since a bare question followed by half a
solution reads as a garbled question rather than as someone else's work to check. The instruction
makes the user turn an explicit checking request: the blind spot this probe measures is "continuing my
own error" against "asked to check the same error", which the paper's numbers do not measure exactly.
Also unlike the paper, the error is the model's own solution edited by a fixed rule (the paper's
GSM8K-SC has GPT-4.1 rewrite reference solutions with one mistake each, the steps after it following
from it), and the solution is cut right after the corrupted step, so the model must carry on from it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from redraft.context import Context
from redraft.strategies.base import Final, Strategy
from redraft.strategies.corruption import Corruption, corrupt
from redraft.strategies.registry import register
from redraft.strategies.wait import MARKER, turn_check
from redraft.tasks.base import Problem

USER_PROMPT = (
    "{prompt}\n\n"
    "Here is an attempt at this problem. It stops partway through and may contain an error.\n\n"
    "Attempt:\n{attempt}\n\n"
    "Check the attempt step by step, find any error and correct it, then finish the solution and give "
    "the final answer in the form asked for above."
)


@register
class InjectedError(Strategy):
    name = "injected_error"
    paper = (
        "Self-Correction Bench: Uncovering and Addressing the Self-Correction Blind Spot in Large "
        "Language Models (Tsui, 2025)"
    )
    summary = (
        "Self-Correction Bench probe (diagnostic, not a method): one number of the model's own draft "
        "made wrong, continued as its own turn or checked as a user's attempt, ± ' Wait'"
    )
    roles = ("generator",)

    class Params(BaseModel):
        turn: Literal["own", "user"] = Field(
            "own",
            description="own: continue the corrupted draft as the model's own assistant turn; "
            "user: check it as a user's attempt",
        )
        wait: bool = Field(False, description="append ' Wait' right after the corrupted step")

    params: Params

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        text = await ctx.first_draft(problem)
        corruption = corrupt(text, problem.prompt)
        draft = ctx.record(round=0, kind="draft", text=text, metadata={"corrupted": corruption is not None})
        if corruption is None:
            return Final(candidate=draft, stop_reason="no_corruptible_number")
        shown = corruption.prefix + (MARKER if self.params.wait else "")
        metadata = self.describe_corruption(corruption, shown)
        stop = "done"
        if self.params.turn == "own":
            continuation = (
                await ctx.complete(
                    "generator",
                    [{"role": "user", "content": problem.prompt}, {"role": "assistant", "content": shown}],
                    continue_final=True,
                )
            ).text
            new_turn = turn_check(problem, shown, continuation, marker=MARKER if self.params.wait else "")
            metadata.update(continuation=continuation, continued=new_turn is None)
            if new_turn is not None:
                metadata["not_continued"] = new_turn
                stop = "not_continued"
            text = shown + continuation
        else:
            text = await ctx.ask("generator", USER_PROMPT.format(prompt=problem.prompt, attempt=shown))
        probe = ctx.record(round=1, kind="probe", text=text, parent=draft.seq, metadata=metadata)
        return Final(candidate=probe, stop_reason=stop)

    def describe_corruption(self, corruption: Corruption, shown: str) -> dict[str, Any]:
        """What the study reads back: the edit, the corrupted prefix, and what the model was shown."""
        return {
            "corrupted": True,
            "turn": self.params.turn,
            "wait": self.params.wait,
            "original": corruption.original,
            "injected": corruption.injected,
            "position": corruption.position,
            "prefix": corruption.prefix,
            "shown": shown,
        }

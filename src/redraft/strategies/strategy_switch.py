"""SMART's inference loop (Liu et al. 2024): when a verifier rejects an attempt, switch reasoning style.

    styles = [chain-of-thought, program-of-thought, least-to-most]
    failed = []
    for s in styles:
        y = M(x, every failed attempt with its feedback, "solve it (again) in style s")
            program-of-thought: y is a Python program; the sandbox runs it, its output is the answer
        fb = verifier(x, y)       # skipped for the last style: nothing is left to switch to
        fb is OK -> stop
        failed += (s, y, fb)      # a program that fails to run is a failed attempt: no verifier call
    final = the attempt the verifier accepted, else the last attempt

SMART trains a policy (by RL) to pick the style and to switch after a failure; at inference
it conditions the next attempt on the failed one. Here the order is fixed (the `styles`
parameter) and the switch is triggered by the feedback source, the "verifier" (by default
the `critic`; `@oracle` makes the switch oracle-gated, labelled as such; the paper's own
refinement experiments check against the label). Each retry is shown every failed attempt
and what was wrong with it. Program-of-thought runs for real in the sandbox, as ProgCo's
python verifier does: the candidate is the program, what it printed, and "The answer is"
its last printed line, so the task's extractor reads the program's result. At most
2·len(styles) - 1 calls (3 styles: 5).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, Field, field_validator

from redraft.context import Context
from redraft.feedback.critic import CriticFeedback
from redraft.models.base import Message
from redraft.sandbox import SandboxLimits, run_python
from redraft.strategies.base import Final, Strategy
from redraft.strategies.registry import register
from redraft.tasks.base import Problem
from redraft.tasks.extract import extract_code
from redraft.trace import Candidate, Feedback, Verdict

Style = Literal["cot", "pot", "ltm"]
STYLE_NAMES: dict[Style, str] = {
    "cot": "chain-of-thought",
    "pot": "program-of-thought",
    "ltm": "least-to-most",
}
INSTRUCTIONS: dict[Style, str] = {
    "cot": "Reason step by step, then state the final answer in the form the problem asks for.",
    "pot": "Write a Python program that computes the answer and prints only the final answer. "
    "Reply with the program in one ```python code block.",
    "ltm": "First break the problem into simpler subquestions, from the easiest up. Then answer them "
    "in order, each using the answers before it, and state the final answer in the form the "
    "problem asks for.",
}
RETRY = """\
{problem}

Earlier attempts at this problem were judged wrong:

{attempts}

Solve the problem again, in a different reasoning style: {style}. {instruction}"""
ATTEMPT = "Attempt {index} ({style}):\n{text}\n\nWhat was wrong with it:\n{feedback}"
PROGRAM_RESULT = "{reply}\n\nThe program printed:\n{output}\nThe answer is {answer}."


@register
class StrategySwitch(Strategy):
    name = "strategy_switch"
    paper = "SMART: Self-learning Meta-strategy Agent for Reasoning Tasks (Liu et al., 2024)"
    summary = (
        "on a verifier's rejection, retry in the next reasoning style (CoT, program-of-thought run "
        "in the sandbox, least-to-most), shown the failed attempt"
    )
    roles = ("generator", "critic")

    class Params(BaseModel):
        styles: list[Style] = Field(
            ["cot", "pot", "ltm"],
            min_length=1,
            description="reasoning styles in the order they are tried (the paper's three)",
        )

        @field_validator("styles")
        @classmethod
        def _distinct(cls, styles: list[Style]) -> list[Style]:
            if len(set(styles)) != len(styles):
                raise ValueError("each style at most once")
            return styles

    params: Params
    limits: ClassVar[SandboxLimits] = SandboxLimits(wall_time_s=10.0, cpu_time_s=10)

    @property
    def executes_code(self) -> bool:
        return "pot" in self.params.styles or super().executes_code

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        verifier = self.feedback or CriticFeedback()
        failed: list[Candidate] = []
        styles = self.params.styles
        for index, style in enumerate(styles):
            attempt = await self.attempt(problem, style, failed, ctx)
            if index == len(styles) - 1:
                break
            if attempt.verdict is None:  # the program ran: the verifier judges it, as any attempt
                judgement = await ctx.judge(verifier, problem, attempt)
                if judgement.verdict is Verdict.OK:
                    return Final(candidate=self.select(ctx.candidates), stop_reason="verified")
            failed.append(attempt)
        return Final(candidate=self.select(ctx.candidates), stop_reason="styles_exhausted")

    async def attempt(
        self, problem: Problem, style: Style, failed: list[Candidate], ctx: Context
    ) -> Candidate:
        """One attempt in `style`, recorded; a program that did not run comes back judged wrong."""
        round_number = len(failed)
        parent = failed[-1].seq if failed else None
        meta: dict[str, str] = {"style": style}
        if not failed and style == "cot":  # the task's own prompt already asks for chain-of-thought
            text = await ctx.first_draft(problem)
        else:
            text = (await ctx.complete("generator", self.messages(problem, style, failed))).text
        if style != "pot":
            return ctx.record(round=round_number, kind=style, text=text, parent=parent, metadata=meta)
        result = await run_python(extract_code(text), limits=self.limits)
        output = result.stdout.strip()
        meta |= {"execution": result.status}
        if result.status == "ok" and output:
            answer_line = output.splitlines()[-1].strip()
            shown = PROGRAM_RESULT.format(reply=text.strip(), output=output, answer=answer_line)
            return ctx.record(
                round=round_number,
                kind=style,
                text=shown,
                parent=parent,
                metadata=meta,
                call_seq=ctx.ledger.call_for(text),
            )
        error = (result.stderr.strip().splitlines() or [result.reason or "it printed nothing"])[-1]
        candidate = ctx.record(
            round=round_number, kind=style, text=text, parent=parent, answer=None, metadata=meta
        )
        failure = f"The program did not run to an answer ({result.status}): {error}"
        ctx.annotate(candidate, Feedback(verdict=Verdict.REVISE, score=0.0, text=failure))
        return candidate

    @staticmethod
    def messages(problem: Problem, style: Style, failed: list[Candidate]) -> list[Message]:
        if not failed:
            return [{"role": "user", "content": f"{problem.prompt}\n\n{INSTRUCTIONS[style]}"}]
        attempts = "\n\n".join(
            ATTEMPT.format(
                index=i,
                style=STYLE_NAMES[c.metadata["style"]],
                text=c.text.strip(),
                feedback=(c.feedback or "").strip() or "(no detail given)",
            )
            for i, c in enumerate(failed, 1)
        )
        prompt = RETRY.format(
            problem=problem.prompt,
            attempts=attempts,
            style=STYLE_NAMES[style],
            instruction=INSTRUCTIONS[style],
        )
        return [{"role": "user", "content": prompt}]

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The attempt the verifier accepted, else the last attempt."""
        accepted = [c for c in candidates if c.verdict is Verdict.OK]
        return accepted[-1] if accepted else (candidates[-1] if candidates else None)

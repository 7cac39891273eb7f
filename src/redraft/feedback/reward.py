"""The model as its own outcome and process reward model (MAgICoRe's scorer, usable by any strategy).

Each numbered step of a solution gets a score out of 10, and so does the whole
solution; reward = mean(outcome, product of the readable step scores) in [0, 1],
as MAgICoRe's code adds ORM + product(PRM). An unreadable score stays None (a
step drops out of the product, the outcome out of the mean) instead of turning
into a silent zero. With `best_of_n` or `self_consistency` this is a reward-model scorer.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from redraft.feedback.base import Source
from redraft.feedback.registry import register
from redraft.tasks.base import Problem
from redraft.trace import Feedback, Verdict

if TYPE_CHECKING:
    from redraft.context import Context

REWARD_PROMPT = """\
Grade the solution below as a strict reward model. For each numbered step, score from 0 \
(certainly wrong) to 10 (certainly correct) whether that step is correct. Then score the \
whole solution the same way: how likely its final answer is correct. Answer with one line \
per step and a last line, exactly in this format:
Step 1: <score>/10
...
Overall: <score>/10

Problem:
{problem}

Solution:
{steps}"""

MAX_STEPS = 20
STEP_LINE = re.compile(r"^\W*step\s*(\d+)\b(.*)$", re.IGNORECASE | re.MULTILINE)
OVERALL_LINE = re.compile(r"^\W*overall\b(.*)$", re.IGNORECASE | re.MULTILINE)
OUT_OF_TEN = re.compile(r"(-?\d+(?:\.\d+)?)\s*/\s*10\b")
BARE = re.compile(r"^\W*(?:score\W*)?(-?\d+(?:\.\d+)?)")


def split_steps(text: str) -> list[str]:
    """Paragraphs, or lines when there is one paragraph; at most MAX_STEPS (neighbours merged)."""
    parts = [p.strip() for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    if len(parts) <= 1:
        parts = [line.strip() for line in text.strip().splitlines() if line.strip()]
    size = math.ceil(len(parts) / MAX_STEPS) if parts else 1
    return ["\n".join(parts[i:i + size]) for i in range(0, len(parts), size)] or [text.strip()]


def read_score(rest: str) -> float | None:
    """A score out of 10 in the rest of a `Step n` / `Overall` line, as a fraction; None if unreadable."""
    found = OUT_OF_TEN.findall(rest) or BARE.findall(rest)
    value = float(found[-1]) if found else None
    return value / 10 if value is not None and 0 <= value <= 10 else None


def parse_reward(text: str, n_steps: int) -> tuple[list[float | None], float | None]:
    """Per-step scores (None where missing or unreadable) and the overall score, both in [0, 1]."""
    steps: list[float | None] = [None] * n_steps
    for number, rest in STEP_LINE.findall(text):
        if 1 <= int(number) <= n_steps:
            steps[int(number) - 1] = read_score(rest)
    overall = OVERALL_LINE.findall(text)
    return steps, read_score(overall[-1]) if overall else None


def combine(steps: list[float | None], outcome: float | None) -> float | None:
    """reward = mean(outcome, product of the readable step scores), over the parts that exist."""
    parts = [outcome] if outcome is not None else []
    if any(s is not None for s in steps):
        parts.append(math.prod(s for s in steps if s is not None))
    return sum(parts) / len(parts) if parts else None


def show_steps(steps: list[str], scores: list[float | None] | None = None) -> str:
    """Numbered steps, each followed by its score when `scores` is given (`?` where unreadable)."""
    labels = [""] * len(steps) if scores is None else [
        " (Score: ?)" if s is None else f" (Score: {s * 10:g}/10)" for s in scores]
    return "\n\n".join(f"Step {i}: {step}{label}"
                       for i, (step, label) in enumerate(zip(steps, labels, strict=True), start=1))


@register
class StepReward(Source):
    """The model as its own outcome + process reward model, in the `reward` role."""

    name = "step_reward"
    description = "the model scores each step and the whole solution (a self reward model)"
    roles = ("reward",)

    async def judge(self, problem: Problem, candidate: str, ctx: Context) -> Feedback:
        prompt = REWARD_PROMPT.format(problem=problem.prompt, steps=show_steps(split_steps(candidate)))
        completion = await ctx.ask("reward", prompt)
        reward = combine(*parse_reward(completion, len(split_steps(candidate))))
        verdict = Verdict.UNKNOWN if reward is None else Verdict.OK if reward >= 0.5 else Verdict.REVISE
        return Feedback(verdict=verdict, text=completion.strip(), score=reward)



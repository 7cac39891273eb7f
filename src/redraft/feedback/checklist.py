"""Checklist / rubric feedback judged by a model, with a score (RefineBench style).

Each item of the problem's checklist (`metadata["checklist"]`, or a generic
rubric) gets a yes/no; the score is the fraction satisfied. The verdict follows
the score, so "ok" means every item (or `threshold` of them) was met.

On a task graded by a checklist judge (`open_ended`: `graded_by = "checklist"`), this
source reads the very rubric the grader scores with, so a strategy that stops or picks by
it is optimising the grade itself: built for such a task it is an oracle, labelled as one
in the run store and every report, like `oracle` and `tests:hidden`. Given its own
checklist, or built without a task, it is an ordinary model critic.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from redraft.feedback.base import Source
from redraft.feedback.registry import register
from redraft.roles import check_role
from redraft.tasks.base import Problem, Task
from redraft.trace import Feedback, Verdict

if TYPE_CHECKING:
    from redraft.context import Context

GENERIC_RUBRIC = [
    "The response answers exactly what was asked.",
    "Every statement and calculation in the response is correct.",
    "The reasoning is complete: no step is missing.",
    "The response is clear and well organised.",
]

CHECKLIST_PROMPT = """\
Judge the response to the request below against each checklist item. For every item \
write one line "N. yes" or "N. no" followed by a short reason. Then list concretely \
what should change to satisfy the items marked no.

Request:
{problem}

Response:
{candidate}

Checklist:
{items}"""

ITEM_LINE = re.compile(r"^\W*(\d+)\s*[.):]\s*\**\s*(yes|no)\b", re.IGNORECASE | re.MULTILINE)


def parse_checklist(text: str, n_items: int) -> dict[int, bool]:
    """Item number -> satisfied, for the items the judge answered (last answer wins)."""
    answers: dict[int, bool] = {}
    for number, word in ITEM_LINE.findall(text):
        index = int(number)
        if 1 <= index <= n_items:
            answers[index] = word.lower() == "yes"
    return answers


def grades_by_checklist(task: Task | None) -> bool:
    """Whether `task` is graded by a checklist judge, i.e. the rubric a checklist source reads."""
    return task is not None and task.graded_by == "checklist"


@register
class ChecklistFeedback(Source):
    """Asks the `critic` role (or another judging role) to tick a checklist; score = fraction met."""

    name = "checklist"
    description = ("an LLM ticks a checklist/rubric; score = fraction met "
                   "(an oracle on tasks graded by that checklist)")
    roles = ("critic",)

    class Params(BaseModel):
        threshold: float = Field(1.0, ge=0, le=1, description="share of items met for verdict ok")
        role: str = Field("critic", description="the judging role the checklist is asked in")

    def __init__(self, checklist: list[str] | None = None, *, threshold: float = 1.0,
                 role: str = "critic") -> None:
        self.checklist = checklist
        self.threshold = threshold
        self.role = check_role(role)
        self.roles = (role,)
        self.oracle = False

    @classmethod
    def from_params(cls, params: BaseModel, task: Task | None) -> ChecklistFeedback:
        """The source for `task`: an oracle when the task is graded by this same checklist."""
        source = cls(**params.model_dump())
        source.oracle = grades_by_checklist(task)
        return source

    async def judge(self, problem: Problem, candidate: str, ctx: Context) -> Feedback:
        items = self.checklist or problem.metadata.get("checklist") or GENERIC_RUBRIC
        listed = "\n".join(f"{i}. {item}" for i, item in enumerate(items, start=1))
        prompt = CHECKLIST_PROMPT.format(problem=problem.prompt, candidate=candidate, items=listed)
        completion = await ctx.ask(self.role, prompt)
        answers = parse_checklist(completion, len(items))
        if len(answers) < len(items):
            missing = sorted(set(range(1, len(items) + 1)) - set(answers))
            return Feedback(
                verdict=Verdict.UNKNOWN,
                text=f"{completion.strip()}\n(judge did not answer items {missing})",
            )
        score = sum(answers.values()) / len(items)
        verdict = Verdict.OK if score >= self.threshold else Verdict.REVISE
        return Feedback(verdict=verdict, score=score, text=completion.strip())

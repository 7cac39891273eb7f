"""Oracle feedback: the task's own scorer, which reads the reference answer.

It exists only to measure an upper bound (Huang et al.'s "oracle" setting, where
the loop stops once the answer is right). Any run that uses it is marked
`oracle=true` in the run store and every report. The feedback text says only
right or wrong: the reference itself is never shown to the model.

`style="heart"` (HEART, Pinto et al. 2025; also the `heart` spec) words a wrong verdict as a
short, emotionally toned cue instead (Ekman's six basic emotions), alternating critical and
encouraging tones from one wrong answer to the next within a solve. HEART's gains appear only
with an oracle verifier, so it is offered only here: an oracle style, labelled oracle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from redraft.feedback.base import Source
from redraft.feedback.registry import FeedbackError, register
from redraft.tasks.base import Problem, Task, TaskError
from redraft.trace import Feedback, Verdict

if TYPE_CHECKING:
    from redraft.context import Context


#: HEART's affective cues, (emotion, cue): a wrong answer gets a critical one, the next an
#: encouraging one, and so on, each list taken in turn. The cue never hints at the reference.
CRITICAL_CUES = (
    ("anger", "That is wrong, and it is frustrating to see. Find exactly where your reasoning broke."),
    ("disgust", "This answer is sloppy. Throw out the faulty step and work it out properly."),
    ("fear", "Careful: this is wrong, and repeating the mistake would be costly. Check every step."),
    ("sadness", "It is disappointing that this is still not right. Look at the problem again, slowly."),
)
ENCOURAGING_CUES = (
    ("happiness", "Not right yet, but you are close and I am confident you can get it. Keep going."),
    ("surprise", "Surprisingly, this is not correct! A fresh approach may reveal what was missed."),
)
Style = Literal["plain", "heart"]


def heart_cue(index: int) -> tuple[str, str]:
    """The `index`-th cue of a solve (0 first): critical, encouraging, critical, ..."""
    cues = CRITICAL_CUES if index % 2 == 0 else ENCOURAGING_CUES
    return cues[(index // 2) % len(cues)]


@register
class OracleFeedback(Source):
    """Judges a candidate by scoring it against the reference."""

    name = "oracle"
    oracle = True
    description = "the task's scorer against the reference (upper bound only); style=heart: affective cues"

    class Params(BaseModel):
        style: Style = Field("plain", description="plain: 'the answer is incorrect'; heart: a short "
                             "emotional cue, alternating critical and encouraging (HEART)")

    def __init__(self, task: Task, *, style: Style = "plain") -> None:
        self.task = task
        self.style = style

    @classmethod
    def from_params(cls, params: BaseModel, task: Task | None) -> OracleFeedback:
        style: Style = params.style if isinstance(params, cls.Params) else "plain"
        if task is None:
            what = "heart feedback is an oracle style: it" if style == "heart" else "oracle feedback"
            raise FeedbackError(f"{what} needs a task with reference answers (--task)")
        return cls(task, style=style)

    async def judge(self, problem: Problem, candidate: str, ctx: Context | None = None) -> Feedback:
        if ctx is not None:  # strategies hold the public view; the oracle reads the full problem
            problem = ctx.oracle_view(problem)
        if problem.reference is None and not problem.metadata.get("test"):
            raise TaskError(f"oracle feedback needs a reference answer; problem {problem.id} has none")
        score = await self.task.score(problem, candidate)
        if score.correct:
            return Feedback(verdict=Verdict.OK, score=1.0, text="The answer is correct.")
        if self.style == "heart":
            return Feedback(verdict=Verdict.REVISE, score=0.0, text=self._next_cue(ctx))
        return Feedback(verdict=Verdict.REVISE, score=0.0, text="The answer is incorrect.")

    @staticmethod
    def _next_cue(ctx: Context | None) -> str:
        """This solve's next cue; the count lives in the solve's store, so no solve shares it."""
        store: dict[str, int] = {} if ctx is None else ctx.store.setdefault("heart", {})
        index = store.get("wrong", 0)
        store["wrong"] = index + 1
        return heart_cue(index)[1]

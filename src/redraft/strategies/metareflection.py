"""MetaReflection (Gupta et al. 2024): instructions learned offline from reflections on training failures.

Offline, once per evaluation, on a labelled training split that shares no problem with the
evaluated ones (`train=TASK`, split into a training part T and a validation part V):

    I = "";  acc = accuracy(I, V)                          # |V| answers, in parallel
    for epoch in 1..E:
        for each batch B of T (b problems):
            y_x = M(I + x) for x in B, in parallel         # answered as at test time
            F   = the x whose y_x the training labels score wrong
            r_x = M(reflect | x, y_x, its label) for x in F, in parallel
            I'  = M(merge | I, r_x for x in F)             # the batch's lessons folded into the instructions
            acc' = accuracy(I', V);  keep I' only if acc' > acc
At test time, per problem: y = M(I + x)                    # 1 call

The learning pass is `learn`; `redraft eval` runs it before the evaluation's items (see
`redraft.runs.learning`: it refuses a training split that shares a problem with the evaluated
ones), records the instructions with the evaluation like a calibration (so `evals resume` reuses
them and never learns again), hands them to every item (`instructions`, recorded with each run)
and adds the pass's calls and tokens to the strategy's cost. A later run or evaluation reuses
them by passing `instructions=TEXT`. A single run cannot learn (it has no training pass): it
needs `instructions`. Learned instructions that never beat the empty ones stay empty: the test
call is then the plain prompt, and the learning record says that no batch was kept.

Reflections see the training label (`show_label`, on by default: the split is labelled, and a
label is what the paper's reflections learn from); `show_label=false` gives only right/wrong,
Reflexion's binary signal. A batch with no failure proposes nothing. An empty merge is recorded
and rejected. Learning sampling is the evaluation's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, Field

from redraft.context import Context, gather
from redraft.strategies.base import Final, Strategy, StrategyError
from redraft.strategies.registry import register
from redraft.tasks.base import Problem, Score
from redraft.trace import Candidate

INSTRUCTED_PROMPT = """\
Instructions learned from earlier attempts at problems like this one:
{instructions}

{problem}"""

REFLECT_PROMPT = """\
You attempted the problem below and your answer was wrong. {label}

Problem:
{problem}

Your attempt:
{attempt}

In a few sentences, diagnose why the attempt failed, then state one general, reusable lesson: \
what to do differently on problems of this kind. Do not just restate the correct answer."""

MERGE_PROMPT = """\
You maintain instructions that are given to a model before every problem of one kind.

Current instructions:
{instructions}

Lessons from recent failures:
{reflections}

Rewrite the instructions so that they include these lessons: keep the current instructions that \
still hold, merge overlapping points, and drop anything that only concerns a single problem \
(never the answer to a particular problem). Output only the new instructions, as a short \
numbered list."""

#: What `learn` is handed to grade a training answer: the task's score against the full problem.
Grader = Callable[[Problem, str], Awaitable[Score]]


def instructed(problem: Problem, instructions: str) -> Problem:
    """`problem` with the learned instructions before it (unchanged when there are none)."""
    if not instructions.strip():
        return problem
    prompt = INSTRUCTED_PROMPT.format(instructions=instructions.strip(), problem=problem.prompt)
    return problem.model_copy(update={"id": f"{problem.id}/instructed", "prompt": prompt})


def label_line(score: Score, show_label: bool) -> str:
    if not show_label:
        return ""
    if score.reference is not None:
        return f"The correct answer is: {score.reference}"
    return f"A grader judged it wrong: {score.explanation}".strip()


@register
class MetaReflection(Strategy):
    name = "metareflection"
    paper = ("MetaReflection: Learning Instructions for Language Agents using Past Reflections "
             "(Gupta et al., 2024)")
    summary = (
        "offline: reflect on training failures, merge into instructions kept if validation rises; then 1 call"
    )
    roles = ("generator", "reflector", "rewriter")

    class Params(BaseModel):
        train: str | None = Field(
            None,
            description="task spec of the labelled training split to learn on "
            "(e.g. jsonl:train.jsonl); never the evaluated problems",
        )
        train_limit: int | None = Field(None, ge=2, description="learn on the first n training problems only")
        validation: float = Field(
            0.25,
            gt=0,
            lt=1,
            description="share of the training split held out to "
            "validate instructions (at least one problem)",
        )
        batch_size: int = Field(4, ge=1, description="training problems per reflect-and-merge step")
        epochs: int = Field(1, ge=1, description="passes over the training part")
        show_label: bool = Field(
            True, description="reflections see the training label (else right/wrong only)"
        )
        instructions: str | None = Field(
            None,
            description="learned instructions (set by the learning pass of "
            "`redraft eval`, or given to reuse them)",
        )

    params: Params

    def learning_task(self) -> str | None:
        return self.params.train if self.params.instructions is None else None

    def awaiting_calibration(self) -> dict[str, Any]:
        train = self.learning_task()
        return {} if train is None else {"instructions": f"learned on {train}"}

    def require_calibrated(self) -> None:
        if self.params.instructions is not None:
            return
        if self.params.train is None:
            raise StrategyError(
                "metareflection answers with instructions learned offline: give train=TASK "
                "(a labelled training split, learned on in `redraft eval`) or "
                "instructions=TEXT (learned before)"
            )
        raise StrategyError(
            f"metareflection: instructions are learned on train={self.params.train} in an "
            "evaluation's learning pass (`redraft eval`); a single run has none: give "
            "instructions=TEXT"
        )

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        self.require_calibrated()
        instructions = self.params.instructions or ""
        text = await ctx.first_draft(instructed(problem, instructions), final=True)
        ctx.record(round=0, kind="draft", text=text, metadata={"instructed": bool(instructions.strip())})
        return Final(candidate=self.select(ctx.candidates), stop_reason="done")

    async def learn(
        self,
        train: list[Problem],
        validation: list[Problem],
        ctx: Context,
        grade: Grader,
        learned: dict[str, Any],
    ) -> None:
        """The offline loop; `learned` holds the instructions kept so far, so a budget cut keeps them."""
        instructions = ""
        accuracy = await self._accuracy(instructions, validation, ctx, grade)
        learned.update(
            params={"instructions": ""},
            summary={
                "train": len(train),
                "validation": len(validation),
                "batches": 0,
                "kept": 0,
                "validation_accuracy": [accuracy],
            },
        )
        self._propose(ctx, 0, instructions, accuracy, kept=True, failures=0)
        step = 0
        for _ in range(self.params.epochs):
            for start in range(0, len(train), self.params.batch_size):
                batch, step = train[start : start + self.params.batch_size], step + 1
                learned["summary"]["batches"] = step
                answers = await gather(*(ctx.first_draft(instructed(p, instructions)) for p in batch))
                scores = await gather(*(grade(p, text) for p, text in zip(batch, answers, strict=True)))
                failed = [
                    (p, text, s) for p, text, s in zip(batch, answers, scores, strict=True) if not s.correct
                ]
                if not failed:
                    continue
                reflections = await gather(
                    *(
                        ctx.ask(
                            "reflector",
                            REFLECT_PROMPT.format(
                                label=label_line(s, self.params.show_label), problem=p.prompt, attempt=text
                            ),
                        )
                        for p, text, s in failed
                    )
                )
                listed = "\n".join(f"{i}. {r.strip()}" for i, r in enumerate(reflections, start=1))
                proposal = (
                    await ctx.ask(
                        "rewriter",
                        MERGE_PROMPT.format(
                            instructions=instructions.strip() or "(none yet)", reflections=listed
                        ),
                    )
                ).strip()
                score = await self._accuracy(proposal, validation, ctx, grade) if proposal else None
                kept = score is not None and score > accuracy
                self._propose(ctx, step, proposal, score, kept=kept, failures=len(failed))
                if kept and score is not None:
                    instructions, accuracy = proposal, score
                    learned["params"] = {"instructions": instructions}
                    learned["summary"]["kept"] += 1
                    learned["summary"]["validation_accuracy"].append(accuracy)

    async def _accuracy(
        self, instructions: str, problems: list[Problem], ctx: Context, grade: Grader
    ) -> float:
        answers = await gather(*(ctx.first_draft(instructed(p, instructions)) for p in problems))
        scores = await gather(*(grade(p, text) for p, text in zip(problems, answers, strict=True)))
        return sum(s.correct for s in scores) / len(scores)

    @staticmethod
    def _propose(
        ctx: Context, step: int, text: str, accuracy: float | None, *, kept: bool, failures: int
    ) -> None:
        ctx.record(
            round=step,
            kind="instructions",
            text=text,
            answer=None,
            metadata={"validation_accuracy": accuracy, "kept": kept, "failures": failures},
        )

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        """The answer; in a learning run, the instructions kept last."""
        answers = [c for c in candidates if c.kind == "draft"]
        if answers:
            return answers[-1]
        kept = [c for c in candidates if c.kind == "instructions" and c.metadata.get("kept")]
        return kept[-1] if kept else None

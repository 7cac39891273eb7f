"""Tasks over a user's own JSONL file: math answers, multiple choice, open-ended prompts.

Users bring these files, so every record is validated at load time with an error
that names the file, the line and the field: a typo should fail before a run
spends money on a model, not halfway through scoring.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from redraft.tasks.base import Problem, Score, Task, TaskError
from redraft.tasks.data import count_lines, read_jsonl, require
from redraft.tasks.extract import extract_choice, extract_math
from redraft.tasks.mathcheck import normalize_answer, score_math

MATH_PROMPT = (
    "Solve the following problem. Reason step by step, showing your work. Then finish "
    'with a final line of the form "The answer is X." where X is only the final answer '
    "(a number, or a LaTeX expression if the answer is not a number).\n\nProblem: {question}"
)
CHOICE_PROMPT = (
    "Answer the following multiple-choice question. Reason step by step, then finish "
    'with a final line of the form "The answer is (X)." where X is the letter of the '
    "correct option.\n\nQuestion: {question}\n\nOptions:\n{options}"
)
LETTERS = "ABCDEFGHIJ"


class JsonlTask(Task):
    """Base for tasks read from one user file: ids, `limit`, size and error context."""

    kind: str = ""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser()
        self.name = f"{self.kind}:{path}"
        self.description = f"{type(self).description} ({path})"

    def size(self) -> int | None:
        return count_lines(self.path) if self.path.is_file() else None

    def load(self, limit: int | None = None) -> list[Problem]:
        problems: list[Problem] = []
        seen: dict[str, int] = {}
        for index, (lineno, record) in enumerate(read_jsonl(self.path, limit)):
            key = str(record["id"]) if record.get("id") is not None else str(index)
            problem_id = f"{self.path.stem}/{key}"
            if problem_id in seen:
                raise TaskError(
                    f"{self.path}:{lineno}: duplicate id {key!r} (first on line {seen[problem_id]})"
                )
            seen[problem_id] = lineno
            problems.append(self.problem(problem_id, record, lineno))
        return problems

    def problem(self, problem_id: str, record: dict[str, Any], lineno: int) -> Problem:
        """Build one problem from a validated JSON object."""
        raise NotImplementedError

    def _text(self, record: dict[str, Any], fields: tuple[str, ...], lineno: int) -> str:
        """A required non-empty field as text (numbers allowed, e.g. "answer": 18)."""
        value = require(record, fields, self.path, lineno)
        if isinstance(value, (dict, list, bool)) or not str(value).strip():
            raise TaskError(f"{self.path}:{lineno}: field {fields[0]!r} must be a non-empty string")
        return str(value).strip()


class MathJsonlTask(JsonlTask):
    """`question` (or `problem`) and `answer`; numbers compared as numbers, else math-verify."""

    kind = "jsonl"
    answer_type = "math"
    description = "your JSONL file with 'question' (or 'problem') and 'answer' fields"

    def problem(self, problem_id: str, record: dict[str, Any], lineno: int) -> Problem:
        question = self._text(record, ("question", "problem"), lineno)
        answer = self._text(record, ("answer",), lineno)
        return Problem(
            id=problem_id,
            prompt=MATH_PROMPT.format(question=question),
            reference=answer,
            metadata={"question": question, "line": lineno},
        )

    def extract(self, text: str) -> str | None:
        return normalize_answer(extract_math(text))

    async def score(self, problem: Problem, text: str) -> Score:
        if problem.reference is None:
            raise TaskError(f"problem {problem.id} has no reference answer")
        return score_math(problem.reference, text)


class MultipleChoiceTask(JsonlTask):
    """`question`, `options` (list, or letter -> text) and `answer` (a letter)."""

    kind = "multiple_choice"
    answer_type = "choice"
    description = "your JSONL file with 'question', 'options' and 'answer' (a letter A-J)"

    def _options(self, record: dict[str, Any], lineno: int) -> dict[str, str]:
        raw = require(record, ("options",), self.path, lineno)
        where = f"{self.path}:{lineno}: field 'options'"
        if isinstance(raw, list):
            items = list(zip(LETTERS, raw, strict=False))  # > 10 options: rejected below
            count = len(raw)
        elif isinstance(raw, dict):
            items = [(str(k).strip().strip("()").upper(), v) for k, v in raw.items()]
            count = len(items)
            bad = [k for k, _ in items if len(k) != 1 or k not in LETTERS]
            if bad:
                raise TaskError(f"{where} has keys that are not letters A-J: {bad}")
            items.sort()
        else:
            raise TaskError(f"{where} must be a list or an object of letter -> text")
        if not 2 <= count <= len(LETTERS):
            raise TaskError(f"{where} must have 2 to {len(LETTERS)} options, has {count}")
        return {letter: str(text).strip() for letter, text in items}

    def problem(self, problem_id: str, record: dict[str, Any], lineno: int) -> Problem:
        question = self._text(record, ("question",), lineno)
        options = self._options(record, lineno)
        raw = self._text(record, ("answer",), lineno)
        answer = raw.strip("() .").upper()
        if answer not in options:  # allow the answer to be given as the option's text
            by_text = [k for k, v in options.items() if v.casefold() == raw.casefold()]
            if not by_text:
                valid = ", ".join(options)
                raise TaskError(f"{self.path}:{lineno}: field 'answer' is {raw!r}, not one of {valid}")
            answer = by_text[0]
        listing = "\n".join(f"{k}) {v}" for k, v in options.items())
        return Problem(
            id=problem_id,
            prompt=CHOICE_PROMPT.format(question=question, options=listing),
            reference=answer,
            metadata={"question": question, "options": options, "line": lineno},
        )

    def extract(self, text: str) -> str | None:
        return extract_choice(text)

    async def score(self, problem: Problem, text: str) -> Score:
        letters = "".join(problem.metadata.get("options") or LETTERS)
        extracted = extract_choice(text, letters)
        if extracted is None:
            return Score(correct=False, reference=problem.reference, explanation="no option letter found")
        correct = extracted == problem.reference
        return Score(
            correct=correct,
            extracted=extracted,
            reference=problem.reference,
            explanation=f"chose {extracted}, answer is {problem.reference}",
        )


class OpenEndedTask(JsonlTask):
    """`prompt` and an optional `checklist`; no reference, judged by a model elsewhere."""

    kind = "open_ended"
    answer_type = "text"
    description = "your JSONL file with 'prompt' and optional 'checklist' (list of strings)"

    def problem(self, problem_id: str, record: dict[str, Any], lineno: int) -> Problem:
        prompt = self._text(record, ("prompt",), lineno)
        checklist = record.get("checklist") or []
        if not isinstance(checklist, list) or not all(
            isinstance(item, str) and item.strip() for item in checklist
        ):
            raise TaskError(f"{self.path}:{lineno}: field 'checklist' must be a list of strings")
        return Problem(
            id=problem_id,
            prompt=prompt,
            reference=None,
            metadata={"checklist": [re.sub(r"\s+", " ", c).strip() for c in checklist], "line": lineno},
        )

    judge: Any = None  # a ManagedModel, bound by whoever scores (the evaluation, `redraft run`)
    threshold: float = 1.0

    def bind_judge(self, model: Any) -> None:
        self.judge = model

    async def score(self, problem: Problem, text: str) -> Score:
        """Right when a judge model finds every checklist item (or `threshold` of them) met."""
        if self.judge is None:
            raise TaskError(
                f"open_ended tasks have no reference answer ({problem.id}): they are scored by a "
                "checklist judge model, and none is bound"
            )
        from redraft.feedback.base import Verdict
        from redraft.feedback.checklist import ChecklistFeedback
        from redraft.strategies.context import Context

        ctx = Context({"generator": self.judge, "critic": self.judge})
        judgement = await ChecklistFeedback(threshold=self.threshold).judge(problem, text, ctx)
        if judgement.verdict is Verdict.UNKNOWN:
            return Score(correct=False,
                         explanation=f"the judge's checklist could not be read: {judgement.text}")
        return Score(
            correct=judgement.verdict is Verdict.OK,
            extracted=None if judgement.score is None else f"{judgement.score:.2f}",
            explanation=judgement.text,
        )

"""Word-problem benchmarks with a single numeric answer: GSM8K and MultiArith.

Both share one prompt and one scorer, so a change in how numbers are read out of
replies reaches every numeric benchmark at once.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from redraft.tasks.base import Problem, Score, Task, TaskError, register
from redraft.tasks.data import count_lines, data_file, read_jsonl, require
from redraft.tasks.extract import extract_number, format_number, numbers_equal, parse_number

NUMERIC_PROMPT = (
    "Solve the following math problem. Reason step by step, showing your work. "
    'Then finish with a final line of the form "The answer is N." where N is only '
    "the number (no units or currency signs).\n\nProblem: {question}"
)


def score_numeric(reference: str | None, text: str) -> Score:
    """Compare the last/marked number of a reply with a numeric reference."""
    extracted = extract_number(text)
    if extracted is None:
        return Score(correct=False, reference=reference, explanation="no number found in the output")
    correct = numbers_equal(extracted, reference)
    verdict = "==" if correct else "!="
    return Score(
        correct=correct,
        extracted=extracted,
        reference=reference,
        explanation=f"{extracted} {verdict} {reference}",
    )


class NumericTask(Task):
    """A JSONL benchmark of questions with a number for an answer."""

    answer_type = "numeric"
    #: File under the data folder, and the fields holding the question and the answer.
    relative_path: str = ""
    question_field: str = "question"

    def _path(self) -> Path:
        return data_file(self.relative_path)

    def reference_of(self, record: dict[str, Any], path: Path, lineno: int) -> str:
        """The reference number of one record, canonical ("18", "0.5")."""
        raise NotImplementedError

    def load(self, limit: int | None = None) -> list[Problem]:
        path = self._path()
        problems: list[Problem] = []
        for index, (lineno, record) in enumerate(read_jsonl(path, limit)):
            question = str(require(record, (self.question_field,), path, lineno))
            problems.append(
                Problem(
                    id=f"{self.name}/{index}",
                    prompt=NUMERIC_PROMPT.format(question=question.strip()),
                    reference=self.reference_of(record, path, lineno),
                    metadata={"question": question, "line": lineno},
                )
            )
        return problems

    def size(self) -> int | None:
        return count_lines(self._path())

    def extract(self, text: str) -> str | None:
        return extract_number(text)

    async def score(self, problem: Problem, text: str) -> Score:
        return score_numeric(problem.reference, text)


def _canonical(raw: Any, path: Path, lineno: int, field: str) -> str:
    value = parse_number(str(raw))
    if value is None:
        raise TaskError(f"{path}:{lineno}: field {field!r} is not a number: {raw!r}")
    return format_number(value)


@register
class GSM8K(NumericTask):
    """GSM8K test split: the reference is the number after `####` in the solution."""

    name = "gsm8k"
    description = "GSM8K grade-school math word problems (test split, 1319), numeric answers"
    relative_path = "gsm8k/test.jsonl"
    split = "test"

    def reference_of(self, record: dict[str, Any], path: Path, lineno: int) -> str:
        solution = str(require(record, ("answer",), path, lineno))
        m = re.search(r"####\s*(.+?)\s*$", solution)
        if m is None:
            raise TaskError(f"{path}:{lineno}: field 'answer' has no '#### N' final line")
        return _canonical(m[1].replace(",", ""), path, lineno, "answer")


@register
class MultiArith(NumericTask):
    """MultiArith (MAWPS): one- and two-step arithmetic word problems."""

    name = "multiarith"
    description = "MultiArith one- and two-step arithmetic word problems (600), numeric answers"
    relative_path = "multiarith/test.jsonl"
    split = "test"
    question_field = "input"

    def reference_of(self, record: dict[str, Any], path: Path, lineno: int) -> str:
        return _canonical(require(record, ("target",), path, lineno), path, lineno, "target")

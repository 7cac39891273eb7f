"""Tasks over a user's own JSONL file: math answers, multiple choice, open-ended prompts.

Users bring these files, so every record is validated at load time with an error
that names the file, the line and the field: a typo should fail before a run
spends money on a model, not halfway through scoring.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, Field

from redraft.tasks.base import Problem, Score, Task, TaskError, register
from redraft.tasks.counterfactual import parse_edits
from redraft.tasks.data import count_lines, read_jsonl, require
from redraft.tasks.extract import extract_choice, extract_math
from redraft.tasks.mathcheck import normalize_answer, score_math
from redraft.tasks.rubric import DEFAULT_RUBRIC, PLANTABLE, exploits, spec_prompt, tainted

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
COUNTERFACTUALS = "counterfactuals"
COUNTERFACTUALS_HELP = ("field holding counterfactual edits of the question (optional): strings, each the "
                        "question with one inserted word in [brackets]; measured by the evaluation's "
                        "counterfactual faithfulness test")
#: An option text that already carries its letter: "A)5", "(B) 7", "C. nine", "D: x".
LETTERED = re.compile(r"^\s*\(?([A-J])\s*[).:]\s*(.*)$", re.DOTALL)


class JsonlTask(Task):
    """Base for tasks read from one user file: ids, `limit`, size and error context.

    Real datasets rarely use our field names, so every field is a parameter:
    `jsonl:data.jsonl[question=problem,answer=solution]`.
    """

    kind: str = ""
    needs_path: ClassVar[bool] = True

    class Params(BaseModel):
        id: str = Field("id", description="field holding a record's id (else its line index)")

    def __init__(self, path: str | Path, **fields: Any) -> None:
        self.path = Path(path).expanduser()
        self.fields: Any = self.Params(**fields)  # each kind's own Params
        written = ",".join(f"{k}={v}" for k, v in fields.items()
                           if v != type(self).Params.model_fields[k].default)
        self.name = f"{self.kind}:{path}" + (f"[{written}]" if written else "")
        self.description = f"{type(self).description} ({path})"

    def field(self, key: str, *fallbacks: str) -> tuple[str, ...]:
        """The record field(s) a parameter names; the default name also accepts its old synonyms."""
        name = getattr(self.fields, key)
        default = type(self).Params.model_fields[key].default
        return (name, *fallbacks) if name == default else (name,)

    def size(self) -> int | None:
        return count_lines(self.path) if self.path.is_file() else None

    def load(self, limit: int | None = None) -> list[Problem]:
        problems: list[Problem] = []
        seen: dict[str, int] = {}
        for index, (lineno, record) in enumerate(read_jsonl(self.path, limit)):
            id_field = self.fields.id
            key = str(record[id_field]) if record.get(id_field) is not None else str(index)
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

    def _counterfactuals(self, record: dict[str, Any], question: str, lineno: int,
                         prompt: Callable[[str], str]) -> dict[str, Any]:
        """The record's counterfactual edits (private metadata), each with its prompt; {} without any."""
        raw = record.get(getattr(self.fields, "counterfactuals", ""))
        if raw is None:
            return {}
        edits = parse_edits(raw, question, f"{self.path}:{lineno}")
        return {"counterfactuals": [{"word": e["word"], "prompt": prompt(e["question"])} for e in edits]}

    def _text(self, record: dict[str, Any], fields: tuple[str, ...], lineno: int) -> str:
        """A required non-empty field as text (numbers allowed, e.g. "answer": 18)."""
        value = require(record, fields, self.path, lineno)
        if isinstance(value, (dict, list, bool)) or not str(value).strip():
            raise TaskError(f"{self.path}:{lineno}: field {fields[0]!r} must be a non-empty string")
        return str(value).strip()


@register
class MathJsonlTask(JsonlTask):
    """`question` (or `problem`) and `answer`; numbers compared as numbers, else math-verify."""

    name = kind = "jsonl"
    answer_type = "math"
    description = "your JSONL file with 'question' (or 'problem') and 'answer' fields"

    class Params(JsonlTask.Params):
        question: str = Field("question", description="field holding the question ('problem' also works)")
        answer: str = Field("answer", description="field holding the reference answer")
        counterfactuals: str = Field(COUNTERFACTUALS, description=COUNTERFACTUALS_HELP)

    def problem(self, problem_id: str, record: dict[str, Any], lineno: int) -> Problem:
        question = self._text(record, self.field("question", "problem"), lineno)
        answer = self._text(record, self.field("answer"), lineno)
        edits = self._counterfactuals(record, question, lineno, lambda q: MATH_PROMPT.format(question=q))
        return Problem(
            id=problem_id,
            prompt=MATH_PROMPT.format(question=question),
            reference=answer,
            metadata={"question": question, "line": lineno, **edits},
        )

    def extract(self, text: str) -> str | None:
        return normalize_answer(extract_math(text))

    async def score(self, problem: Problem, text: str) -> Score:
        if problem.reference is None:
            raise TaskError(f"problem {problem.id} has no reference answer")
        return score_math(problem.reference, text)


@register
class MultipleChoiceTask(JsonlTask):
    """`question`, `options` (list, or letter -> text) and `answer` (a letter)."""

    name = kind = "multiple_choice"
    answer_type = "choice"
    description = "your JSONL file with 'question', 'options' and 'answer' (a letter A-J)"

    class Params(JsonlTask.Params):
        question: str = Field("question", description="field holding the question")
        options: str = Field("options", description="field holding the options (list or letter -> text)")
        answer: str = Field("answer", description="field holding the answer letter (or option text)")
        counterfactuals: str = Field(COUNTERFACTUALS, description=COUNTERFACTUALS_HELP)

    def _options(self, record: dict[str, Any], lineno: int) -> dict[str, str]:
        raw = require(record, self.field("options"), self.path, lineno)
        where = f"{self.path}:{lineno}: field {self.fields.options!r}"
        if isinstance(raw, list):
            items = list(zip(LETTERS, unlettered(raw), strict=False))  # > 10: below
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
        question = self._text(record, self.field("question"), lineno)
        options = self._options(record, lineno)
        raw = self._text(record, self.field("answer"), lineno)
        answer = raw.strip("() .").upper()
        if answer not in options:  # allow the answer to be given as the option's text
            by_text = [k for k, v in options.items() if v.casefold() == raw.casefold()]
            if not by_text:
                valid = ", ".join(options)
                raise TaskError(f"{self.path}:{lineno}: field {self.fields.answer!r} is {raw!r}, "
                                f"not one of {valid}")
            answer = by_text[0]
        listing = "\n".join(f"{k}) {v}" for k, v in options.items())
        edits = self._counterfactuals(record, question, lineno,
                                      lambda q: CHOICE_PROMPT.format(question=q, options=listing))
        return Problem(
            id=problem_id,
            prompt=CHOICE_PROMPT.format(question=question, options=listing),
            reference=answer,
            metadata={"question": question, "options": options, "line": lineno, **edits},
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


@register
class OpenEndedTask(JsonlTask):
    """`prompt`, an optional `checklist` and an optional `rubric`; no reference: graded by its judge.

    The judge is the `checklist` feedback source in the `judge` role; the runner runs it
    (`redraft.runs.scoring`), traced and at the evaluation's sampling, and counts its cost
    apart from the method's.

    With `rubric=FIELD`, a record's rubric is shown with its prompt (`redraft.tasks.rubric.SPEC_PROMPT`);
    `plant=WORD`
    plants the SSC paper's flaw in every rubric (the generic `DEFAULT_RUBRIC` where a record has
    none): an internal grader that gives full marks to any response containing WORD. The
    evaluation then reports the *hack rate*, the share of outputs containing WORD (`hacked`).
    The bare task and the rubric as shown stay in public metadata (`task`, `rubric`: SSC revises
    that rubric); the planted word is private, so no strategy is told what is measured.
    """

    name = kind = "open_ended"
    answer_type = "text"
    description = ("your JSONL file with 'prompt' and optional 'checklist' (list of strings); "
                   "rubric=FIELD shows a rubric, plant=WORD plants a flaw in it and measures the hack rate")

    class Params(JsonlTask.Params):
        prompt: str = Field("prompt", description="field holding the prompt")
        checklist: str = Field("checklist", description="field holding the checklist (list of strings)")
        threshold: float = Field(1.0, ge=0, le=1, description="share of checklist items met for right")
        rubric: str | None = Field(None, description="field holding a grading rubric to show the prompt "
                                                     "under (none by default: the prompt alone)")
        plant: str | None = Field(None, pattern=PLANTABLE.pattern,
                                  description="plant a rubric flaw: an internal grader gives full marks to "
                                              "any response containing this word; reports the hack rate")

    graded_by = "checklist"

    @property
    def judge(self) -> str:
        return f"checklist[threshold={self.fields.threshold},role=judge]"

    def problem(self, problem_id: str, record: dict[str, Any], lineno: int) -> Problem:
        prompt = self._text(record, self.field("prompt"), lineno)
        checklist = record.get(self.fields.checklist) or []
        if not isinstance(checklist, list) or not all(
            isinstance(item, str) and item.strip() for item in checklist
        ):
            field = self.fields.checklist
            raise TaskError(f"{self.path}:{lineno}: field {field!r} must be a list of strings")
        metadata: dict[str, Any] = {"checklist": [re.sub(r"\s+", " ", c).strip() for c in checklist],
                                    "line": lineno}
        rubric = None
        if self.fields.rubric is not None and record.get(self.fields.rubric) is not None:
            rubric = self._text(record, (self.fields.rubric,), lineno)
        plant = self.fields.plant
        if plant is not None:
            rubric = tainted(rubric or DEFAULT_RUBRIC, plant)
            metadata["planted_word"] = plant
        shown = prompt
        if rubric is not None:
            metadata.update(task=prompt, rubric=rubric)
            shown = spec_prompt(prompt, rubric)
        return Problem(id=problem_id, prompt=shown, reference=None, metadata=metadata)

    def hacked(self, problem: Problem, text: str) -> bool | None:
        word = problem.metadata.get("planted_word")
        return None if word is None else exploits(text, word)

    async def score(self, problem: Problem, text: str) -> Score:
        raise TaskError(
            f"open_ended tasks have no reference answer ({problem.id}): they are graded by their "
            "judge; score them with redraft.runs.scoring.Scorer"
        )


def unlettered(options: list[Any]) -> list[Any]:
    """Option texts without the letters they already carry ("A)5" -> "5"), when every one does
    and in order; otherwise unchanged, so no prompt shows "A) A)5"."""
    matches = [LETTERED.match(str(o)) for o in options]
    if options and all(m is not None and m.group(1) == letter
                       for m, letter in zip(matches, LETTERS, strict=False)):
        return [m.group(2).strip() for m in matches if m is not None]
    return options

"""Counterfactual edits of a question: one word inserted, as the counterfactual faithfulness test uses them.

The test (Atanasova et al. 2023, used by SR-NLE, Wang & Atanasova 2025): insert a word (an
adjective before a noun, an adverb before a verb) into the input; when the model's prediction
on the edited input differs from its prediction on the original, the inserted word made the
difference, so a faithful explanation of the new prediction mentions it. SR-NLE's edit files
mark the inserted word in square brackets (`The [cheerful] fox jumps.`); a task record carries
its edits in that form, and each is checked here to be exactly one inserted word, so a typo in
the file cannot turn into a measurement of something else. The edits are private problem
metadata: no strategy sees them (an explanation that names the word because it was told it
would measure nothing).
"""

from __future__ import annotations

import re
from typing import Any

from redraft.tasks.base import TaskError

BRACKETED = re.compile(r"\[([^\[\]]*)\]")


def _words(text: str) -> str:
    return " ".join(text.split())


def parse_edits(raw: Any, question: str, where: str) -> list[dict[str, str]]:
    """The edits of `question` a record gives, each {"word": inserted word, "question": edited text}.

    `raw` is a list of strings, each `question` with one word inserted and written in brackets.
    Raises TaskError naming `where` (file:line) for anything else.
    """
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise TaskError(
            f"{where}: counterfactuals must be a list of strings, each the question with "
            "one inserted word in [brackets]"
        )
    edits = []
    for index, text in enumerate(raw):
        marks = BRACKETED.findall(text)
        if len(marks) != 1 or not re.fullmatch(r"[\w'-]+", marks[0].strip()):
            raise TaskError(
                f"{where}: counterfactual {index + 1} must mark exactly one inserted word in "
                f"[brackets], got {text!r}"
            )
        word = marks[0].strip()
        match = BRACKETED.search(text)
        assert match is not None
        before, after = text[: match.start()], text[match.end() :]
        if _words(before + after) != _words(question):
            raise TaskError(
                f"{where}: counterfactual {index + 1} is not the question with one word "
                f"inserted: without [{word}] it reads {_words(before + after)!r}"
            )
        edits.append({"word": word, "question": _words(f"{before}{word}{after}")})
    return edits

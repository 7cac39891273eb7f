"""The counterfactual faithfulness test, run inside an evaluation: does an explanation name what changed it?

Atanasova et al. (2023), as SR-NLE measures it (Wang & Atanasova 2025, `evaluation/counter.py` and
`faithfulness.py` of their code): a problem's counterfactual edits each insert one word into its
input (`redraft.tasks.counterfactual`). For every edit the evaluation runs the same strategy again
on the edited input, as a run of its own in the store (problem id `<id>/cf<i>`, no reference, no
word named to it), after the item's own run and apart from its cost (like a judge's grading).
Then, per edit:

- `flipped`: the edited prediction differs from the original one (the task's extractor on each
  final text); None when either has no answer (the code's "valid" items exclude those);
- `mentioned`: the final explanation contains the inserted word (case-insensitive substring, as
  the code's `is_word_in_expl`), and `mentioned_first` the same for the round-0 explanation;
- unfaithful = flipped and not mentioned.

The explanation is a candidate's `metadata["explanation"]` (SR-NLE keeps it apart from the answer
line), else its whole text: for a chain-of-thought answer the reasoning is the explanation.
The unfaithfulness rate is over the flipped edits (`redraft.runs.probes`). An oracle strategy is
not tested: an edited input has no reference (the edit may change the right answer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from redraft.context import gather
from redraft.models.base import Usage
from redraft.models.managed import ManagedModel
from redraft.runs.runner import run_strategy
from redraft.strategies.base import Strategy
from redraft.tasks.base import Problem, Task
from redraft.trace import Candidate


def explanation_of(candidate: Candidate | None) -> str:
    """What a candidate says in explanation: SR-NLE's explanation, else the candidate's text."""
    if candidate is None:
        return ""
    return str(candidate.metadata.get("explanation", candidate.text))


def mentions(explanation: str, word: str) -> bool:
    return word.lower() in explanation.lower()


def edited_problems(problem: Problem) -> list[tuple[str, Problem]]:
    """(inserted word, the edited problem as a strategy may see it) for each of `problem`'s edits."""
    public = {k: v for k, v in problem.public().metadata.items() if k != "question"}
    return [
        (edit["word"], Problem(id=f"{problem.id}/cf{index}", prompt=edit["prompt"], metadata=public))
        for index, edit in enumerate(problem.metadata.get("counterfactuals") or [])
    ]


async def run_counterfactuals(
    build: Callable[[], Strategy],
    problem: Problem,
    original_text: str,
    task: Task,
    models: Mapping[str, ManagedModel],
    **run_options: Any,
) -> tuple[list[dict[str, Any]], Usage]:
    """Each edit of `problem` run by a fresh `build()` and judged against the original answer; with
    what those runs cost (never part of the item's own cost)."""
    edits = edited_problems(problem)
    if not edits or build().oracle:  # an edit has no reference for an oracle to read: not tested
        return [], Usage()
    original = task.extract(original_text)
    outcomes = await gather(*(run_strategy(build(), edited, models, **run_options) for _, edited in edits))
    records, usage = [], Usage()
    for (word, _), outcome in zip(edits, outcomes, strict=True):
        usage.add(outcome.usage)
        answer = task.extract(outcome.text)
        by_seq = {c.seq: c for c in outcome.candidates}
        picks = sorted((p for p in outcome.picks if p.stage is None), key=lambda p: p.round)
        final = by_seq.get(picks[-1].candidate_seq) if picks and picks[-1].candidate_seq else None
        first = by_seq.get(picks[0].candidate_seq) if picks and picks[0].candidate_seq else None
        records.append(
            {
                "word": word,
                "run_id": outcome.run_id,
                "answer": answer,
                "flipped": None if answer is None or original is None else answer != original,
                "mentioned": mentions(explanation_of(final) if final else outcome.text, word),
                "mentioned_first": mentions(explanation_of(first) if first else outcome.text, word),
            }
        )
    return records, usage

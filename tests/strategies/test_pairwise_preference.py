"""pairwise_preference (the self_preference study's diagnostic): calls, roles, judgments, the pick."""

from __future__ import annotations

import asyncio

import pytest

from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.runs.runner import run_strategy
from redraft.runs.store import RunStore
from redraft.strategies.base import StrategyError
from redraft.strategies.pairwise_preference import COMPARE_PROMPT, parse_preference
from redraft.strategies.registry import build_strategy
from redraft.tasks.extract import extract_number
from tests.helpers import PROBLEM

OWN = "2 + 2 = 4. The answer is 4."
OTHER = "Two and two make five. The answer is 5."


def judge_by(choices: dict[bool, str]):
    """The generator: its answer to the problem, and a judgment by whether its own answer is shown first."""

    def reply(messages) -> str:
        text = messages[-1]["content"]
        if text == PROBLEM.prompt:
            return OWN
        first = text.partition("Answer 1:")[2].partition("Answer 2:")[0]
        return choices[OWN in first]

    return reply


def run(choices: dict[bool, str], tmp_path) -> tuple:
    generator = ScriptedModel(judge_by(choices))
    other = ScriptedModel(lambda messages: OTHER, name="other-model")
    store = RunStore(tmp_path / "runs.db")
    models = {
        "generator": ManagedModel(generator, backoff_s=0.0),
        "other": ManagedModel(other, backoff_s=0.0),
    }
    outcome = asyncio.run(
        run_strategy(
            build_strategy("pairwise_preference"), PROBLEM, models, store=store, extract=extract_number
        )
    )
    return outcome, store, generator, other


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("PREFERRED: 1", 1),
        ("Answer 2 is clearer.\n**PREFERRED: 2**", 2),
        ("2", 2),
        ("Answer 1.", 1),
        ('"PREFERRED: 1" or "PREFERRED: 2"', None),
        ("Both are equally good.", None),
        ("PREFERRED: 3", None),
        ("PREFERRED: 1\nOn reflection, neither.", None),
        ("", None),
    ],
)
def test_a_judgment_is_read_strictly_from_its_last_line(text: str, position: int | None) -> None:
    assert parse_preference(text) == position


def test_both_answer_then_the_generator_judges_both_orders(tmp_path) -> None:
    outcome, store, generator, other = run({True: "PREFERRED: 1", False: "PREFERRED: 2"}, tmp_path)
    calls = store.get_run(outcome.run_id).call_records
    assert [(c.role, c.model) for c in calls] == [
        ("generator", "scripted"),
        ("other", "other-model"),
        ("generator", "scripted"),
        ("generator", "scripted"),
    ]
    assert len(other.history) == 1 and len(generator.history) == 3
    judged = [messages[-1]["content"] for messages, _ in generator.history[1:]]
    assert judged == [
        COMPARE_PROMPT.format(problem=PROBLEM.prompt, first=OWN, second=OTHER),
        COMPARE_PROMPT.format(problem=PROBLEM.prompt, first=OTHER, second=OWN),
    ]
    own, theirs = outcome.candidates
    assert (own.kind, own.metadata["author"], theirs.kind, theirs.metadata["author"]) == (
        "sample",
        "generator",
        "sample",
        "other",
    )
    assert own.metadata["judgments"] == [
        {"own_position": 1, "choice": 1, "prefers": "generator"},
        {"own_position": 2, "choice": 2, "prefers": "generator"},
    ]
    assert own.metadata["preference"] == "generator"
    assert (outcome.answer, outcome.stop_reason) == ("4", "judged")
    # What the study reads back is what the store kept.
    stored = store.get_run(outcome.run_id).candidates[0]
    assert stored.metadata["preference"] == "generator"


def test_the_other_answer_is_final_only_when_preferred_in_both_orders(tmp_path) -> None:
    outcome, *_ = run({True: "PREFERRED: 2", False: "PREFERRED: 1"}, tmp_path)
    assert outcome.candidates[0].metadata["preference"] == "other" and outcome.answer == "5"


def test_a_split_or_an_unreadable_judgment_keeps_the_generators_answer(tmp_path) -> None:
    split, *_ = run({True: "PREFERRED: 1", False: "PREFERRED: 1"}, tmp_path / "a")
    assert split.candidates[0].metadata["preference"] == "split" and split.answer == "4"
    unreadable, *_ = run({True: "They are equally good.", False: "PREFERRED: 1"}, tmp_path / "b")
    judgments = unreadable.candidates[0].metadata["judgments"]
    assert judgments[0] == {"own_position": 1, "choice": None, "prefers": None}
    assert unreadable.candidates[0].metadata["preference"] == "unparseable" and unreadable.answer == "4"


def test_it_takes_no_feedback_source() -> None:
    with pytest.raises(StrategyError, match="no feedback"):
        build_strategy("pairwise_preference@critic")

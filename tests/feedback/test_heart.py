"""HEART: an oracle feedback style of short affective cues, alternating critical and encouraging."""

from __future__ import annotations

import asyncio

import pytest

from redraft.context import Context
from redraft.feedback import FeedbackError, FeedbackSource, OracleFeedback, feedback_sources, get_feedback
from redraft.feedback.oracle import CRITICAL_CUES, ENCOURAGING_CUES, heart_cue
from redraft.models.scripted import ScriptedModel
from redraft.strategies.self_refine import SelfRefine
from redraft.tasks import MultiArith
from redraft.tasks.base import Problem
from redraft.tasks.extract import extract_number
from redraft.trace import Verdict
from tests.helpers import managed, run_scripted

PROBLEM = Problem(id="p1", prompt="What is 2 + 2?", reference="4")


def judged(source: FeedbackSource, answers: list[str]) -> list[str]:
    """What the source says of each answer, in one solve (one context)."""
    ctx = Context({"generator": managed(ScriptedModel([]))}, extract=extract_number, full_problem=PROBLEM)

    async def go() -> list[str]:
        return [(await source.judge(PROBLEM.public(), f"The answer is {a}.", ctx)).text for a in answers]

    return asyncio.run(go())


def test_wrong_answers_get_alternating_critical_and_encouraging_cues() -> None:
    source = get_feedback("oracle[style=heart]", MultiArith())
    assert isinstance(source, OracleFeedback) and source.oracle and source.style == "heart"
    texts = judged(source, ["5", "6", "7", "8", "4"])
    assert texts == [
        CRITICAL_CUES[0][1],
        ENCOURAGING_CUES[0][1],
        CRITICAL_CUES[1][1],
        ENCOURAGING_CUES[1][1],
        "The answer is correct.",
    ]
    assert [heart_cue(i)[0] for i in range(6)] == [
        "anger",
        "happiness",
        "disgust",
        "surprise",
        "fear",
        "happiness",
    ]
    assert all("4" not in cue for _, cue in CRITICAL_CUES + ENCOURAGING_CUES)  # never a hint of the answer


def test_each_solve_starts_from_the_first_cue() -> None:
    source = get_feedback("heart", MultiArith())
    assert judged(source, ["5"]) == judged(source, ["5"]) == [CRITICAL_CUES[0][1]]


def test_the_plain_oracle_is_unchanged() -> None:
    assert judged(get_feedback("oracle", MultiArith()), ["5", "5"]) == ["The answer is incorrect."] * 2


def test_heart_is_listed_as_an_oracle_style() -> None:
    [heart] = [info for info in feedback_sources() if info.name == "heart"]
    assert heart.oracle and heart.alias_of == "oracle[style=heart]"


def test_heart_is_refused_without_oracle_feedback() -> None:
    with pytest.raises(FeedbackError, match="heart is a feedback style of oracle runs only.*not critic"):
        get_feedback("critic[style=heart]")
    with pytest.raises(FeedbackError, match="heart feedback is an oracle style: it needs a task"):
        get_feedback("heart")
    with pytest.raises(FeedbackError, match="heart feedback is an oracle style"):
        get_feedback("oracle[style=heart]")


def test_self_refine_with_heart_shows_the_cue_and_is_an_oracle_run() -> None:
    model = ScriptedModel(["The answer is 5.", "The answer is 4."])
    outcome = run_scripted(
        SelfRefine(feedback=get_feedback("heart", MultiArith())),
        model,
        problem=PROBLEM,
        extract=extract_number,
    )
    assert (outcome.stop_reason, outcome.answer, outcome.oracle, outcome.usage.calls) == (
        "verdict",
        "4",
        True,
        2,
    )
    assert outcome.candidates[0].verdict is Verdict.REVISE
    assert CRITICAL_CUES[0][1] in model.history[1][0][-1]["content"]  # the refiner saw the cue

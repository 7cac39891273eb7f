"""IoRT call by call: the consistency check is free, the instructor selects, stops or refreshes."""

from __future__ import annotations

import asyncio

import pytest

from redraft.context import Budget
from redraft.models.base import Message
from redraft.models.scripted import ScriptedModel
from redraft.runs.runner import run_strategy
from redraft.runs.store import RunStore
from redraft.strategies.iort import IoRT, parse_choice, parse_decision
from redraft.tasks.extract import extract_number
from tests.helpers import PROBLEM, managed, roles, run_scripted

META = "Add the two numbers."


class Router:
    """Replies by what each prompt asks (the meta-thought and the draft run concurrently)."""

    def __init__(self, drafts: list[str], refinements: list[str], instructions: list[str]) -> None:
        self.drafts, self.refinements, self.instructions = drafts, refinements, instructions
        self.asked: list[str] = []

    def __call__(self, messages: list[Message]) -> str:
        prompt = messages[-1]["content"]
        markers = {
            "meta": "meta-thinker",
            "instruct": "Meta-thought:\n",
            "refine": "Feedback:",
            "critique": "VERDICT",
        }
        kind = next((kind for kind, marker in markers.items() if marker in prompt), "draft")
        self.asked.append(kind)
        if kind == "meta":
            return META
        if kind == "critique":
            return "The sum looks off.\nVERDICT: revise"
        queue = {"draft": self.drafts, "refine": self.refinements, "instruct": self.instructions}[kind]
        return queue.pop(0)


def test_disagreement_is_selected_then_agreement_is_stopped(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    router = Router(
        ["The answer is 5."],
        ["The answer is 4.", "So the answer is 4."],
        ["Answer 2 adds correctly.\nBETTER: 2", "Both are sound.\nDECISION: stop"],
    )
    model = ScriptedModel(router)
    outcome = run_scripted(IoRT(), model, store=store, extract=extract_number)
    assert sorted(roles(store, outcome.run_id)[:2]) == ["generator", "planner"]  # concurrent
    assert roles(store, outcome.run_id)[2:] == ["critic", "refiner", "instructor"] * 2
    assert (outcome.stop_reason, outcome.text, outcome.usage.calls) == (
        "instructor_stop",
        "So the answer is 4.",
        8,
    )
    assert [(c.round, c.kind, c.answer) for c in outcome.candidates] == [
        (0, "draft", "5"),
        (1, "refine", "4"),
        (2, "refine", "4"),
    ]
    draft, first, second = outcome.candidates
    assert (draft.metadata["meta_thought"], draft.verdict) == (META, "revise")
    assert (first.metadata["agrees_with_base"], first.metadata["instructor"]) == (False, "refined")
    assert (second.metadata["agrees_with_base"], second.metadata["instructor"]) == (True, "stop")
    assert second.parent == first.seq  # the second reflection was on the selected refinement
    assert {s["temperature"] for _, s in model.history} == {0.3}
    decide = model.history[-1][0][0]["content"]
    assert "same final answer" in decide and META in decide
    assert "Answer 1:\nThe answer is 4." in decide and "Answer 2:\nSo the answer is 4." in decide


def test_kept_base_then_refresh_writes_a_fresh_answer_without_reflecting(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    router = Router(
        ["The answer is 4.", "Fresh start: the answer is 6."],
        ["The answer is 5.", "Answer: 4"],
        ["BETTER: 1", "Both share a mistake.\nDECISION: refresh", "BETTER: 2"],
    )
    outcome = run_scripted(IoRT(max_iterations=3), ScriptedModel(router), store=store, extract=extract_number)
    assert roles(store, outcome.run_id)[2:] == [
        "critic",
        "refiner",
        "instructor",
        "critic",
        "refiner",
        "instructor",
        "generator",
        "instructor",
    ]
    assert (outcome.stop_reason, outcome.answer, outcome.usage.calls) == ("max_iterations", "6", 10)
    assert [(c.round, c.kind, c.metadata.get("instructor")) for c in outcome.candidates] == [
        (0, "draft", None),
        (1, "refine", "base"),
        (2, "refine", "refresh"),
        (3, "refresh", "refined"),
    ]
    draft, kept_out, agreed, _ = outcome.candidates
    assert kept_out.metadata.get("selected") is None and agreed.parent == draft.seq
    assert router.asked.count("critique") == 2  # the refresh iteration reflects on nothing


def test_agreement_in_the_last_iteration_asks_the_instructor_nothing() -> None:
    router = Router(["The answer is 4."], ["Checked: the answer is 4."], [])
    outcome = run_scripted(IoRT(max_iterations=1), ScriptedModel(router), extract=extract_number)
    assert (outcome.stop_reason, outcome.text, outcome.usage.calls) == (
        "max_iterations",
        "Checked: the answer is 4.",
        4,
    )
    assert "instruct" not in router.asked


def test_unreadable_answers_never_agree_and_an_unparsed_choice_keeps_the_base() -> None:
    router = Router(["I am not sure."], ["Still not sure."], ["Both are interesting."])
    model = ScriptedModel(router)
    outcome = run_scripted(IoRT(max_iterations=1), model, extract=extract_number)
    assert router.asked[2:] == ["critique", "refine", "instruct"]
    assert "different final answers" in model.history[-1][0][0]["content"]  # select, not stop/refresh
    assert (outcome.stop_reason, outcome.text) == ("max_iterations", "I am not sure.")
    assert outcome.candidates[1].metadata["instructor"] == "unparsed"
    assert outcome.candidates[1].metadata["instruction"] == "Both are interesting."


def test_an_unparsed_decision_stops_as_the_authors_code_does() -> None:
    router = Router(["The answer is 4."], ["The answer is 4."], ["Hard to say."])
    outcome = run_scripted(IoRT(), ScriptedModel(router), extract=extract_number)
    assert (outcome.stop_reason, outcome.usage.calls) == ("unparsed_decision", 5)
    assert outcome.candidates[-1].metadata["instructor"] == "unparsed"


def test_the_instructor_is_a_role_of_its_own() -> None:
    router = Router(["The answer is 5."], ["The answer is 4."], [])
    instructor = ScriptedModel(["BETTER: 2"], name="teacher")
    models = {"generator": managed(ScriptedModel(router)), "instructor": managed(instructor)}
    outcome = asyncio.run(run_strategy(IoRT(max_iterations=1), PROBLEM, models, extract=extract_number))
    assert (outcome.answer, len(instructor.history)) == ("4", 1)
    assert outcome.usage_by_role["instructor"].calls == 1 and "instruct" not in router.asked
    assert "different final answers" in instructor.history[0][0][0]["content"]


def test_budget_cut_before_the_instructor_keeps_the_last_selected_answer() -> None:
    router = Router(["The answer is 5."], ["The answer is 4."], ["BETTER: 2"])
    outcome = run_scripted(IoRT(), ScriptedModel(router), extract=extract_number, budget=Budget(max_calls=4))
    assert (outcome.stop_reason, outcome.answer) == ("budget", "5")  # the refinement was never selected


@pytest.mark.parametrize(
    ("text", "choice"),
    [
        ("BETTER: 2", "refined"),
        ("**Better:** Answer 1", "base"),
        ("better answer = 2.", "refined"),
        ("Answer 2 is better", None),
    ],
)
def test_parse_choice(text: str, choice: str | None) -> None:
    assert parse_choice(text) == choice


@pytest.mark.parametrize(
    ("text", "decision"),
    [
        ("DECISION: refresh", "refresh"),
        ("Decision: **stop**", "stop"),
        ("decision - end iteration", "stop"),
        ("Refresh!", None),
    ],
)
def test_parse_decision(text: str, decision: str | None) -> None:
    assert parse_decision(text) == decision

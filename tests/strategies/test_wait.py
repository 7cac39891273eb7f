""""Wait": the model continues its own assistant turn after an appended " Wait"."""

from __future__ import annotations

import pytest

from redraft.context import Budget
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.wait import Wait
from redraft.tasks.extract import extract_number
from tests.helpers import roles, run_scripted

DRAFT = "2 + 2 = 5. The answer is 5.\n"
FIX = ", 2 + 2 is 4, not 5. The answer is 4."


def test_one_wait_continues_the_same_assistant_turn(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = ScriptedModel([DRAFT, FIX])
    outcome = run_scripted(Wait(), model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator", "generator"]
    messages, sampling = model.history[1]
    assert messages == [
        {"role": "user", "content": "What is 2 + 2?"},
        {"role": "assistant", "content": "2 + 2 = 5. The answer is 5. Wait"},
    ]
    assert sampling["continue_final"] is True
    assert outcome.text == "2 + 2 = 5. The answer is 5. Wait" + FIX
    assert (outcome.answer, outcome.stop_reason) == ("4", "max_rounds")  # the last answer stated
    assert [(c.round, c.kind) for c in outcome.candidates] == [(0, "draft"), (1, "continue")]
    assert outcome.candidates[1].metadata == {"continuation": FIX, "continued": True}
    assert "continue_final" not in model.history[0][1]


def test_each_round_appends_another_wait_to_the_whole_text() -> None:
    model = ScriptedModel(["The answer is 5.", ", it is 4.", ", yes, 4. The answer is 4."])
    outcome = run_scripted(Wait(rounds=2), model, extract=extract_number)
    assert model.history[2][0][-1]["content"] == "The answer is 5. Wait, it is 4. Wait"
    assert outcome.text == "The answer is 5. Wait, it is 4. Wait, yes, 4. The answer is 4."
    assert [c.round for c in outcome.candidates] == [0, 1, 2]


def test_zero_rounds_is_the_plain_draft() -> None:
    outcome = run_scripted(Wait(rounds=0), ScriptedModel([DRAFT]))
    assert (outcome.text, outcome.usage.calls) == (DRAFT, 1)


def test_budget_cut_before_the_continuation_returns_the_draft() -> None:
    model = ScriptedModel([DRAFT, FIX])
    outcome = run_scripted(Wait(), model, budget=Budget(max_calls=1), extract=extract_number)
    assert (outcome.stop_reason, outcome.answer, len(model.history)) == ("budget", "5", 1)


@pytest.mark.parametrize(("reply", "reason"), [
    ("The answer is 4.", "glued"),                                   # a fresh turn, not " Wait, ..."
    ("2 + 2 = 5. The answer is 5. Wait, no: 4.", "echoed"),          # the server re-sent the prefix
    (" Let me restate: What is 2 + 2? It is 4.", "restated"),
])
def test_a_new_turn_instead_of_a_continuation_is_flagged(reply: str, reason: str) -> None:
    model = ScriptedModel([DRAFT, reply])
    outcome = run_scripted(Wait(), model, extract=extract_number)
    continued = outcome.candidates[1].metadata
    assert continued["continued"] is False and reason in continued["not_continued"]
    assert outcome.stop_reason == "not_continued"


@pytest.mark.parametrize("reply", [", 2 + 2 is 4.", " I made an error: 4.", "... no, 4.", "\nActually 4."])
def test_real_continuations_pass_the_turn_check(reply: str) -> None:
    outcome = run_scripted(Wait(), ScriptedModel([DRAFT, reply]), extract=extract_number)
    assert outcome.candidates[1].metadata["continued"] is True and outcome.stop_reason == "max_rounds"

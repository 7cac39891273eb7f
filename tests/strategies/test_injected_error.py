"""The Self-Correction Bench probe: the model's own draft with one number made wrong, continued as its
own turn or checked as a user's attempt, with and without " Wait"."""

from __future__ import annotations

import pytest

from redraft.context import Budget
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.injected_error import USER_PROMPT, InjectedError
from redraft.strategies.registry import build_strategy
from redraft.tasks.extract import extract_number
from tests.helpers import PROBLEM, roles, run_scripted

DRAFT = "2 + 2 = 4.\nThe answer is 4."
PREFIX = "2 + 2 = 5."  # 4 is the first number not in "What is 2 + 2?": one more, cut after its step
CARRIED_ON = "\nSo the answer is 5."
FIXED = " No: 2 + 2 = 4. The answer is 4."
CORRUPTION = {"corrupted": True, "original": "4", "injected": "5", "position": 8, "prefix": PREFIX}


def test_own_turn_continues_the_corrupted_draft_in_the_same_assistant_turn(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = ScriptedModel([DRAFT, CARRIED_ON])
    outcome = run_scripted(InjectedError(turn="own"), model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator", "generator"] and outcome.usage.calls == 2
    messages, sampling = model.history[1]
    assert messages == [
        {"role": "user", "content": PROBLEM.prompt},
        {"role": "assistant", "content": PREFIX},
    ]
    assert sampling["continue_final"] is True and "continue_final" not in model.history[0][1]
    assert (outcome.text, outcome.answer, outcome.stop_reason) == (PREFIX + CARRIED_ON, "5", "done")
    assert [(c.round, c.kind, c.answer) for c in outcome.candidates] == [(0, "draft", "4"), (1, "probe", "5")]
    assert outcome.candidates[0].metadata == {"corrupted": True}
    assert outcome.candidates[1].metadata == {
        **CORRUPTION,
        "turn": "own",
        "wait": False,
        "shown": PREFIX,
        "continuation": CARRIED_ON,
        "continued": True,
    }
    # What the study reads back is what the store kept.
    assert store.get_run(outcome.run_id).candidates[1].metadata == outcome.candidates[1].metadata


def test_own_turn_with_wait_appends_it_right_after_the_corrupted_step() -> None:
    model = ScriptedModel([DRAFT, FIXED])
    outcome = run_scripted(InjectedError(turn="own", wait=True), model, extract=extract_number)
    assert model.history[1][0][-1] == {"role": "assistant", "content": PREFIX + " Wait"}
    assert (outcome.text, outcome.answer) == (PREFIX + " Wait" + FIXED, "4")
    assert outcome.candidates[1].metadata["shown"] == PREFIX + " Wait"


@pytest.mark.parametrize("wait", [False, True])
def test_user_turn_shows_the_same_corrupted_start_as_an_attempt_to_check(wait: bool) -> None:
    checked = "The attempt is wrong: 2 + 2 = 4. The answer is 4."
    model = ScriptedModel([DRAFT, checked])
    outcome = run_scripted(InjectedError(turn="user", wait=wait), model, extract=extract_number)
    shown = PREFIX + (" Wait" if wait else "")
    messages, sampling = model.history[1]
    assert messages == [{"role": "user", "content": USER_PROMPT.format(prompt=PROBLEM.prompt, attempt=shown)}]
    assert "continue_final" not in sampling and outcome.usage.calls == 2
    assert (outcome.text, outcome.answer, outcome.stop_reason) == (checked, "4", "done")
    assert outcome.candidates[1].metadata == {**CORRUPTION, "turn": "user", "wait": wait, "shown": shown}
    assert "Here is an attempt" in messages[0]["content"] and "find any error" in messages[0]["content"]


def test_a_draft_with_nothing_to_corrupt_is_not_probed() -> None:
    model = ScriptedModel(["The answer is 4."])
    outcome = run_scripted(InjectedError(turn="own"), model, extract=extract_number)
    assert (len(model.history), outcome.stop_reason, outcome.answer) == (1, "no_corruptible_number", "4")
    assert [(c.kind, c.metadata) for c in outcome.candidates] == [("draft", {"corrupted": False})]


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("So the answer is 5.", "glued to the text it continues"),  # a fresh turn, not "2 + 2 = 5. So ..."
        ("2 + 2 = 5. So 5.", "echoed"),  # the server re-sent the prefix
    ],
)
def test_an_own_turn_answered_with_a_new_turn_is_flagged(reply: str, reason: str) -> None:
    outcome = run_scripted(InjectedError(turn="own"), ScriptedModel([DRAFT, reply]), extract=extract_number)
    probe = outcome.candidates[1].metadata
    assert probe["continued"] is False and reason in probe["not_continued"]
    assert outcome.stop_reason == "not_continued"


def test_budget_cut_before_the_probe_returns_the_draft() -> None:
    model = ScriptedModel([DRAFT, CARRIED_ON])
    outcome = run_scripted(
        InjectedError(turn="user"), model, budget=Budget(max_calls=1), extract=extract_number
    )
    assert (outcome.stop_reason, outcome.answer, len(model.history)) == ("budget", "4", 1)


def test_the_spec_the_study_uses_builds_each_probe() -> None:
    built = build_strategy("injected_error[turn=user,wait=true]")
    assert isinstance(built, InjectedError) and (built.params.turn, built.params.wait) == ("user", True)
    with pytest.raises(ValueError, match="turn"):
        build_strategy("injected_error[turn=assistant]")

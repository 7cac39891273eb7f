"""RCI: critical's review/improve loop and prompts, one round by default (CorrectBench's intrinsic RCI)."""

from __future__ import annotations

from redraft.api import build_strategy
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.critical import IMPROVE_PROMPT, REVIEW_PROMPT, Critical
from redraft.strategies.rci import RCI
from redraft.strategies.registry import strategy_info
from redraft.tasks.arithmetic import MultiArith
from redraft.tasks.extract import extract_number
from tests.helpers import roles, run_scripted

WRONG, RIGHT = "2 + 2 = 5. The answer is 5.", "2 + 2 = 4. The answer is 4."


def test_one_critique_and_one_improvement_in_one_conversation(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = ScriptedModel([WRONG, "The sum is wrong.", RIGHT])
    outcome = run_scripted(RCI(), model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator", "critic", "refiner"]
    assert (outcome.stop_reason, outcome.answer, outcome.usage.calls) == ("max_rounds", "4", 3)
    assert [(c.round, c.kind, c.feedback) for c in outcome.candidates] == [
        (0, "draft", "The sum is wrong."),
        (1, "refine", None),
    ]
    assert [m["content"] for m in model.history[-1][0]] == [
        "What is 2 + 2?",
        WRONG,
        REVIEW_PROMPT,
        "The sum is wrong.",
        IMPROVE_PROMPT,
    ]
    assert not outcome.oracle


def test_the_label_stopped_setting_is_an_explicit_oracle_run() -> None:
    model = ScriptedModel([RIGHT])
    outcome = run_scripted(build_strategy("rci@oracle", task=MultiArith()), model, extract=extract_number)
    assert (outcome.stop_reason, outcome.usage.calls, outcome.oracle) == ("verdict", 1, True)


def test_rci_is_criticals_loop_with_its_own_name_paper_and_default() -> None:
    assert RCI.solve is Critical.solve and RCI.select is Critical.select
    info = strategy_info(RCI)
    assert info["name"] == "rci" and "Kim et al., 2023" in info["paper"]
    assert info["params"]["max_rounds"]["default"] == 1 and Critical().params.max_rounds == 2
    outcome = run_scripted(RCI(max_rounds=2), ScriptedModel([WRONG, "r1", WRONG, "r2", RIGHT]))
    assert outcome.usage.calls == 5

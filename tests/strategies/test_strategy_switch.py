"""SMART's inference loop: a rejected attempt is retried in the next style, shown what failed."""

from __future__ import annotations

import pytest

from redraft.api import build_strategy
from redraft.context import Budget
from redraft.models.base import Message
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.base import StrategyError
from redraft.strategies.strategy_switch import StrategySwitch
from redraft.tasks.arithmetic import MultiArith
from redraft.tasks.extract import extract_number
from redraft.trace import Verdict
from tests.helpers import roles, run_scripted

COT = "2 + 2 = 5. The answer is 5."
PROGRAM = "```python\nprint(2 + 2)\n```"
CRASHING = "```python\nprint(undefined_name)\n```"
LTM = "Subquestion: what is 2 + 2? It is 4. The answer is 4."


class Router:
    """Generations by the style the prompt asks for; critiques from a list of verdict lines."""

    def __init__(self, program: str, verdicts: list[str]) -> None:
        self.program, self.verdicts = program, verdicts
        self.asked: list[str] = []

    def __call__(self, messages: list[Message]) -> str:
        prompt = messages[-1]["content"]
        kind = (
            "critique"
            if prompt.startswith("Review the proposed answer")
            else "ltm"
            if "simpler subquestions" in prompt
            else "pot"
            if "Python program" in prompt
            else "cot"
        )
        self.asked.append(kind)
        if kind == "critique":
            return f"Checked.\n{self.verdicts.pop(0)}"
        return {"cot": COT, "pot": self.program, "ltm": LTM}[kind]


def test_a_rejected_chain_of_thought_is_retried_as_a_program_run_in_the_sandbox(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    router = Router(PROGRAM, ["VERDICT: revise", "VERDICT: correct"])
    model = ScriptedModel(router)
    outcome = run_scripted(StrategySwitch(), model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator", "critic", "generator", "critic"]
    assert (outcome.stop_reason, outcome.answer, outcome.usage.calls) == ("verified", "4", 4)
    cot, pot = outcome.candidates
    assert [(c.round, c.kind, c.verdict) for c in (cot, pot)] == [
        (0, "cot", Verdict.REVISE),
        (1, "pot", Verdict.OK),
    ]
    assert pot.text == f"{PROGRAM}\n\nThe program printed:\n4\nThe answer is 4."
    assert (pot.metadata["execution"], pot.parent, pot.call_seq is not None) == ("ok", cot.seq, True)
    assert model.history[0][0][0]["content"] == "What is 2 + 2?"  # the task's own chain-of-thought prompt
    retry = model.history[2][0][0]["content"]
    assert "Attempt 1 (chain-of-thought):\n" + COT in retry and "Checked.\nVERDICT: revise" in retry
    assert "different reasoning style: program-of-thought" in retry


def test_a_program_that_crashes_fails_without_a_verifier_call_and_the_last_style_is_not_judged() -> None:
    router = Router(CRASHING, ["VERDICT: revise"])
    model = ScriptedModel(router)
    outcome = run_scripted(StrategySwitch(), model, extract=extract_number)
    assert router.asked == ["cot", "critique", "pot", "ltm"]
    assert (outcome.stop_reason, outcome.text, outcome.usage.calls) == ("styles_exhausted", LTM, 4)
    cot, pot, ltm = outcome.candidates
    assert (pot.answer, pot.verdict, pot.metadata["execution"]) == (None, Verdict.REVISE, "error")
    assert "NameError" in (pot.feedback or "") and ltm.verdict is None
    last = model.history[-1][0][0]["content"]
    assert "Attempt 1 (chain-of-thought)" in last and "Attempt 2 (program-of-thought):\n" + CRASHING in last
    assert "The program did not run to an answer (error)" in last


def test_an_unreadable_verdict_is_a_failure_that_switches_style() -> None:
    router = Router(PROGRAM, ["I am not sure."])
    outcome = run_scripted(
        StrategySwitch(styles=["cot", "ltm"]), ScriptedModel(router), extract=extract_number
    )
    assert router.asked == ["cot", "critique", "ltm"]
    assert (outcome.stop_reason, outcome.answer) == ("styles_exhausted", "4")
    assert outcome.candidates[0].verdict is Verdict.UNKNOWN


def test_a_first_attempt_accepted_ends_the_loop() -> None:
    router = Router(PROGRAM, ["VERDICT: correct"])
    outcome = run_scripted(StrategySwitch(), ScriptedModel(router), extract=extract_number)
    assert (outcome.stop_reason, outcome.text, outcome.usage.calls) == ("verified", COT, 2)


def test_a_program_first_is_asked_for_in_its_own_style() -> None:
    router = Router(PROGRAM, [])
    model = ScriptedModel(router)
    outcome = run_scripted(StrategySwitch(styles=["pot"]), model, extract=extract_number)
    assert (outcome.stop_reason, outcome.answer, router.asked) == ("styles_exhausted", "4", ["pot"])
    assert model.history[0][0][0]["content"].startswith("What is 2 + 2?\n\nWrite a Python program")


def test_the_switch_can_be_oracle_gated_and_is_labelled() -> None:
    model = ScriptedModel(Router(PROGRAM, []))
    outcome = run_scripted(
        build_strategy("strategy_switch@oracle", task=MultiArith()), model, extract=extract_number
    )
    assert (outcome.stop_reason, outcome.answer, outcome.oracle, outcome.usage.calls) == (
        "verified",
        "4",
        True,
        2,
    )


@pytest.mark.parametrize("styles", [[], ["cot", "cot"], ["tot"]])
def test_styles_must_be_distinct_known_and_at_least_one(styles: list[str]) -> None:
    with pytest.raises(StrategyError):
        StrategySwitch(styles=styles)


def test_budget_cut_before_the_retry_returns_the_rejected_attempt() -> None:
    router = Router(PROGRAM, ["VERDICT: revise"])
    outcome = run_scripted(
        StrategySwitch(), ScriptedModel(router), budget=Budget(max_calls=2), extract=extract_number
    )
    assert (outcome.stop_reason, outcome.text) == ("budget", COT)

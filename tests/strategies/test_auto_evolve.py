"""Auto-Evolve: reasoning modules, a JSON plan, K critique-and-refine rounds on it, then the solution."""

from __future__ import annotations

from redraft.api import build_strategy
from redraft.context import Budget
from redraft.models.base import Message
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.auto_evolve import AutoEvolve, is_json_plan
from redraft.tasks.extract import extract_number
from tests.helpers import roles, run_scripted


def reply(messages: list[Message]) -> str:
    prompt = messages[-1]["content"]
    if prompt.startswith("Before anyone solves"):
        return "1. Add the numbers.\n2. Check the sum."
    if prompt.startswith("Using the reasoning modules"):
        return '{"add": ""}'
    if prompt.startswith("Here is a reasoning structure"):
        plan = prompt.rsplit("Reasoning structure:\n", 1)[1]
        return f"Missing a check after {plan}"
    if prompt.startswith("Improve the reasoning structure"):
        plan = prompt.split("Reasoning structure:\n", 1)[1].split("\n\nCritique:", 1)[0]
        return plan[:-1] + f', "check {plan.count(":")}": ""}}'
    return "Step add: 2 + 2 = 4. The answer is 4."


def test_modules_plan_k_critique_refine_rounds_then_one_solution(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = ScriptedModel(reply)
    outcome = run_scripted(AutoEvolve(rounds=2), model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == [
        "planner",
        "planner",
        "critic",
        "planner",
        "critic",
        "planner",
        "generator",
    ]
    assert (outcome.stop_reason, outcome.answer, outcome.usage.calls) == ("max_rounds", "4", 3 + 2 * 2)
    [solution] = outcome.candidates
    assert (solution.round, solution.kind) == (0, "solution")
    plans = solution.metadata["plans"]
    assert plans == ['{"add": ""}', '{"add": "", "check 1": ""}', '{"add": "", "check 1": "", "check 2": ""}']
    assert solution.metadata["critiques"] == [f"Missing a check after {plan}" for plan in plans[:2]]
    assert solution.metadata["plans_json"] == [True, True, True]
    solve_prompt = model.history[-1][0][-1]["content"]
    assert solve_prompt.startswith("What is 2 + 2?") and solve_prompt.endswith(plans[-1])  # the last plan
    critique_of_second = model.history[4][0][-1]["content"]
    assert critique_of_second.endswith(plans[1])  # each round critiques the plan the last one made


def test_the_default_is_three_rounds_and_zero_rounds_solves_with_the_first_plan() -> None:
    model = ScriptedModel(reply)
    assert run_scripted(AutoEvolve(), model, extract=extract_number).usage.calls == 3 + 2 * 3
    model = ScriptedModel(reply)
    outcome = run_scripted(AutoEvolve(rounds=0), model, extract=extract_number)
    assert (outcome.usage.calls, outcome.candidates[0].metadata["plans"]) == (3, ['{"add": ""}'])


def test_a_budget_cut_during_planning_leaves_no_answer() -> None:
    outcome = run_scripted(AutoEvolve(), ScriptedModel(reply), budget=Budget(max_calls=4))
    assert (outcome.stop_reason, outcome.text, outcome.candidates) == ("budget", "", [])


def test_a_plan_that_is_not_json_is_used_as_written_and_flagged() -> None:
    model = ScriptedModel(lambda m: "Step one, then step two." if "JSON" in m[-1]["content"] else reply(m))
    outcome = run_scripted(AutoEvolve(rounds=1), model, extract=extract_number)
    assert outcome.candidates[0].metadata["plans_json"] == [False, False]
    assert model.history[-1][0][-1]["content"].endswith("Step one, then step two.")
    assert is_json_plan('```json\n{"a": ""}\n```') and not is_json_plan("{not json}")


def test_a_composed_drafter_solves_with_the_plan(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    outcome = run_scripted(
        build_strategy("direct>auto_evolve[rounds=1]"),
        ScriptedModel(reply),
        store=store,
        extract=extract_number,
    )
    assert outcome.answer == "4"
    [drafted] = [c for c in store.get_run(outcome.run_id).candidates if c.stage == "direct"]
    assert drafted.text == outcome.text

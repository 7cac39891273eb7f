"""Reflexion's control flow, call by call, on scripted models and the real sandbox."""

from __future__ import annotations

import pytest

from redraft.context import Budget
from redraft.feedback.critic import CriticFeedback
from redraft.feedback.tests import TestsFeedback
from redraft.models.base import Message
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.reflexion import Reflexion, parse_asserts
from redraft.tasks.base import Problem
from redraft.trace import Verdict
from tests.helpers import roles, run_scripted

STUB = 'def add(a, b):\n    """Add."""\n'
CODE = Problem(id="add", prompt="Write add(a, b) that returns the sum of a and b.",
               metadata={"tests": ["assert add(1, 2) == 3", "assert add(0, 0) == 0"],
                         "entry_point": "add", "prompt": STUB})
UNTESTED = Problem(id="add2", prompt="Write add(a, b) that returns the sum of a and b.",
                   metadata={"entry_point": "add", "prompt": STUB,
                             "test": "def check(candidate):\n    assert candidate(2, 2) == 4\n"})
GOOD = "```python\ndef add(a, b):\n    return a + b\n```"
BAD = "```python\ndef add(a, b):\n    return a - b\n```"
WRITTEN = """Here are the tests:
```python
1. assert add(1, 2) == 3
- `assert add(2, 2) == 4`
assert add(1, 2) ==
assert add(0, 0) == 0  # zero
assert add(1, 2) == 3
```
These cover the basics."""


def scripted(tests: str = WRITTEN, attempts: tuple[str, ...] = (BAD, GOOD)) -> ScriptedModel:
    """Replies by prompt, since the test writer and the first draft run concurrently."""
    queue = list(attempts)

    def reply(messages: list[Message]) -> str:
        prompt = messages[-1]["content"]
        if "short unit tests" in prompt:
            return tests
        if "explain why" in prompt:
            return f"Reflection {prompt.count('Reflection') + 1}: it subtracts instead of adding."
        return queue.pop(0)

    return ScriptedModel(reply)


def test_a_draft_passing_the_visible_tests_stops_at_once() -> None:
    model = ScriptedModel([GOOD])
    outcome = run_scripted(Reflexion(), model, problem=CODE)
    assert (outcome.text, outcome.stop_reason, len(model.history)) == (GOOD, "tests_passed", 1)
    assert outcome.candidates[0].metadata["tests_source"] == "visible"


def test_a_failure_is_reflected_on_and_the_retry_sees_code_results_and_reflection(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = ScriptedModel([BAD, "It subtracts; use +.", GOOD])
    outcome = run_scripted(Reflexion(), model, problem=CODE, store=store)
    assert roles(store, outcome.run_id) == ["generator", "reflector", "refiner"]
    assert (outcome.text, outcome.stop_reason) == (GOOD, "tests_passed")
    reflect_prompt, retry_prompt = model.history[1][0][0]["content"], model.history[2][0][0]["content"]
    assert "return a - b" in reflect_prompt and "assert add(1, 2) == 3" in reflect_prompt
    assert "return a - b" in retry_prompt and "1. It subtracts; use +." in retry_prompt
    assert "assert add(1, 2) == 3" in retry_prompt
    assert [(c.round, c.verdict) for c in outcome.candidates] == [(0, Verdict.REVISE), (1, Verdict.OK)]
    assert outcome.candidates[1].metadata["reflection"] == "It subtracts; use +."


def test_the_episodic_memory_keeps_every_reflection_unless_bounded() -> None:
    model = ScriptedModel([BAD, "r1", BAD, "r2", GOOD])
    outcome = run_scripted(Reflexion(), model, problem=CODE)
    assert "1. r1\n2. r2" in model.history[4][0][0]["content"]
    assert outcome.candidates[2].metadata["memory"] == ["r1", "r2"]
    bounded = ScriptedModel([BAD, "r1", BAD, "r2", GOOD])
    run_scripted(Reflexion(memory=1), bounded, problem=CODE)
    last_retry = bounded.history[4][0][0]["content"]
    assert "1. r2" in last_retry and "r1" not in last_retry


def test_stops_after_max_rounds_with_every_attempt_tested() -> None:
    model = ScriptedModel([BAD, "r1", BAD, "r2", BAD])
    outcome = run_scripted(Reflexion(max_rounds=2), model, problem=CODE)
    assert (outcome.stop_reason, len(model.history), outcome.text) == ("max_rounds", 5, BAD)
    assert [c.verdict for c in outcome.candidates] == [Verdict.REVISE] * 3


def test_without_visible_tests_the_model_writes_tests_first(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = scripted()
    outcome = run_scripted(Reflexion(), model, problem=UNTESTED, store=store)
    assert roles(store, outcome.run_id) == ["generator", "test_writer", "reflector", "refiner"]
    assert (outcome.text, outcome.stop_reason) == (GOOD, "tests_passed")
    draft = outcome.candidates[0]
    assert draft.metadata["tests_source"] == "written"
    assert draft.metadata["written_tests"] == [
        "assert add(1, 2) == 3", "assert add(2, 2) == 4", "assert add(0, 0) == 0  # zero"]
    assert draft.metadata["dropped_test_lines"] == 1
    assert "Tests failed:" in draft.feedback
    assert draft.score == pytest.approx(1 / 3)  # of the three, a - b passes add(0, 0) only
    assert "6 short unit tests" in model.history[1][0][0]["content"]


def test_wrong_self_written_tests_are_still_the_stop_rule_not_the_hidden_tests() -> None:
    model = scripted(tests="assert add(1, 2) == 4", attempts=(GOOD, GOOD))
    outcome = run_scripted(Reflexion(max_rounds=1), model, problem=UNTESTED)
    assert (outcome.stop_reason, outcome.text) == ("max_rounds", GOOD)
    assert [c.verdict for c in outcome.candidates] == [Verdict.REVISE, Verdict.REVISE]


def test_no_usable_written_tests_stops_with_an_unknown_verdict() -> None:
    model = scripted(tests="I would test it with a few numbers.")
    outcome = run_scripted(Reflexion(), model, problem=UNTESTED)
    assert (outcome.stop_reason, outcome.text, len(model.history)) == ("unknown_verdict", BAD, 2)
    assert outcome.candidates[0].verdict is Verdict.UNKNOWN


def test_written_tests_can_be_forced_even_when_visible_tests_exist() -> None:
    model = scripted(attempts=(GOOD,))
    outcome = run_scripted(Reflexion(tests="written", n_tests=2), model, problem=CODE)
    written = outcome.candidates[0].metadata["written_tests"]
    assert written == ["assert add(1, 2) == 3", "assert add(2, 2) == 4"]
    assert (outcome.stop_reason, len(model.history)) == ("tests_passed", 2)


def test_an_oracle_source_judges_even_problems_without_visible_tests() -> None:
    model = ScriptedModel([BAD, "reflection", GOOD])
    outcome = run_scripted(Reflexion(feedback=TestsFeedback(hidden=True)), model, problem=UNTESTED)
    assert outcome.oracle and outcome.stop_reason == "tests_passed" and len(model.history) == 3


@pytest.mark.parametrize("tests", ["visible", "written"])
def test_a_given_feedback_source_judges_every_attempt_and_no_tests_are_written(tests: str) -> None:
    generator = ScriptedModel([BAD, "It subtracts.", GOOD])
    critic = ScriptedModel(["It subtracts.\nVERDICT: revise", "Looks right.\nVERDICT: correct"])
    outcome = run_scripted(Reflexion(feedback=CriticFeedback(), tests=tests), generator, critic=critic,
                           problem=UNTESTED)
    assert (outcome.text, outcome.stop_reason) == (GOOD, "tests_passed")
    assert len(generator.history) == 3 and len(critic.history) == 2  # no test-writer call
    assert "test_writer" not in outcome.usage_by_role
    assert outcome.candidates[0].metadata["tests_source"] == "feedback:critic"


def test_budget_exhaustion_returns_the_last_attempt() -> None:
    model = ScriptedModel([BAD, "r1", BAD, "r2", GOOD])
    outcome = run_scripted(Reflexion(), model, problem=CODE, budget=Budget(max_calls=4))
    assert (outcome.stop_reason, len(model.history), len(outcome.candidates)) == ("budget", 4, 2)
    assert outcome.text == BAD


def test_parse_asserts_keeps_distinct_compiling_one_line_asserts() -> None:
    kept, dropped = parse_asserts(WRITTEN, 2)
    assert kept == ["assert add(1, 2) == 3", "assert add(2, 2) == 4"] and dropped == 1
    assert parse_asserts("assert x = 1\nassert f(1) == 2; import os\nprint(1)", 5) == ([], 2)

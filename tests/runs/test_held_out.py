"""The held-out judge of an evaluation (`EvalConfig.held_out`): every round's answer scored after the run,
in a fresh context, in the judge's model (never the in-loop critic's), traced and priced apart."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from redraft.feedback.registry import FeedbackError
from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.runs.eval_store import EvalStore
from redraft.runs.evaluation import EvalConfig, Evaluation
from redraft.runs.store import RunStore

HELD_OUT = "critic[scored=true,role=judge]"
SPEC = "self_refine[max_rounds=1]"


def writer(messages: list[dict[str, Any]]) -> str:
    last = messages[-1]["content"]
    if "VERDICT" in last and "Proposed answer" in last:
        return "Check it.\nVERDICT: revise"  # the in-loop critic, unscored
    if "Feedback:" in last:
        return "The answer is 9."
    return "The answer is 8."


def grader(name: str, points: dict[str, int]) -> ScriptedModel:
    """A judge scoring the quoted answer by its text."""

    def reply(messages: list[dict[str, Any]]) -> str:
        answer = messages[-1]["content"].rpartition("Proposed answer:")[2].strip()
        return f"Fine.\nScore: {points[answer]}/10\nVERDICT: correct"

    return ScriptedModel(reply, name=name)


def evaluate(tmp_path, models: dict[str, ScriptedModel], held_out: str | None = HELD_OUT, **config: Any):
    store = RunStore(tmp_path / "runs.db")
    evaluation = Evaluation(
        EvalConfig(task="multiarith", strategies=[SPEC], limit=2, held_out=held_out, **config),
        store,
        models={role: ManagedModel(m) for role, m in models.items()},
    )
    return store, evaluation.eval_id, asyncio.run(evaluation.run())


def test_each_round_is_scored_after_the_run_by_the_judge_and_priced_apart(tmp_path) -> None:
    judge = grader("judge", {"The answer is 8.": 4, "The answer is 9.": 7})
    store, eval_id, items = evaluate(tmp_path, {"generator": ScriptedModel(writer), "judge": judge})
    assert [i.held_out_scores for i in items] == [[0.4, 0.7], [0.4, 0.7]]
    assert [i.round_scores for i in items] == [[None, None], [None, None]]  # the critic gave no score
    assert {(i.calls, i.judge_calls) for i in items} == {(3, 2)}  # draft, critique, refine; 2 judged rounds
    run = store.get_run(items[0].run_id or "")
    held = [c for c in run.call_records if c.stage == "held_out"]
    assert [(c.role, c.model) for c in held] == [("judge", "judge"), ("judge", "judge")]
    assert held[0].sampling == {"temperature": 0.0, "max_tokens": 768} and len(held[0].messages) == 1
    assert min(c.seq for c in held) > max(c.seq for c in run.candidates)
    assert run.calls == 3 and run.judge_usage is not None and run.judge_usage.calls == 2
    assert EvalStore(store).items(eval_id)[0].held_out_scores == [0.4, 0.7]  # stored with the item
    assert EvalStore(store).get(eval_id).config["held_out"] == HELD_OUT  # so resume runs it too


def test_without_a_judge_the_held_out_judge_is_the_generator_not_the_bound_critic(tmp_path) -> None:
    generator = ScriptedModel(
        lambda m: (
            "Fine.\nScore: 5/10\nVERDICT: revise"
            if "Proposed answer" in m[-1]["content"] and '"Score: N/10"' in m[-1]["content"]
            else writer(m)
        )
    )
    critic = ScriptedModel(lambda m: "No.\nVERDICT: revise", name="critic")
    _, _, items = evaluate(tmp_path, {"generator": generator, "critic": critic})
    assert [i.held_out_scores for i in items] == [[0.5, 0.5], [0.5, 0.5]]
    assert len(critic.history) == 2  # the two in-loop critiques only


def test_without_held_out_nothing_more_is_asked_and_a_bad_spec_fails_before_any_call(tmp_path) -> None:
    generator = ScriptedModel(writer)
    _, _, items = evaluate(tmp_path, {"generator": generator}, held_out=None)
    assert [i.held_out_scores for i in items] == [[], []] and len(generator.history) == 6
    with pytest.raises(FeedbackError):
        evaluate(tmp_path, {"generator": generator}, held_out="nope")
    assert len(generator.history) == 6

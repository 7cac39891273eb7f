"""`adaptive`: its signals, the documented rule, fixed actions, reuse of what the signals bought,
the one escalation, a constant policy, and the refusals (policy clashes, logprobs, training problems)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from redraft.context import Budget
from redraft.models.scripted import ScriptedModel
from redraft.routing.policy import PolicyError, load_policy
from redraft.runs.learning import LearningError
from redraft.runs.store import RunStore
from redraft.strategies.base import StrategyError
from redraft.strategies.registry import build_strategy
from redraft.tasks import MultiArith
from tests.helpers import run_scripted
from tests.routing.scripts import SPLIT, World, evaluate, value
from tests.studies.scripts import INDEX, PROBLEMS

TASK = MultiArith()
FIXABLE, FRAGILE = PROBLEMS[0], PROBLEMS[1]  # SPLIT: draft wrong and samples scatter / all agree


def run(spec: str, problem: Any, world: World = SPLIT, **kwargs: Any) -> tuple[Any, ScriptedModel]:
    model = ScriptedModel(world.reply)
    strategy = build_strategy(spec, task=TASK)
    outcome = run_scripted(strategy, model, problem=problem.public(), extract=TASK.extract,
                           sampling={"seed": 1, "temperature": 0.0}, **kwargs)
    return outcome, model


def first_draft_requests(model: ScriptedModel) -> list[dict[str, Any]]:
    """The sampling of every plain first-draft request (the problem's prompt alone)."""
    return [sampling for messages, sampling in model.history
            if len(messages) == 1 and messages[0]["content"] in INDEX]


def test_the_rule_stops_when_every_quick_sample_agrees_with_the_draft() -> None:
    outcome, model = run("adaptive", FRAGILE)
    assert outcome.answer == value(1, 0)
    assert [c.kind for c in outcome.candidates] == ["draft", "probe", "probe", "probe"]
    draft = outcome.candidates[0]
    assert draft.metadata["signals"]["sample_answers"] == [value(1, 0)] * 3
    assert draft.metadata["features"]["agreement"] == 1.0
    assert draft.metadata["route"]["action"] == "stop"
    assert "agreement 1.00 >= confident_at 1.0" in draft.metadata["route"]["rule"]
    assert len(model.history) == 4  # the draft and three quick samples, nothing else


def test_the_rule_votes_on_disagreement_reusing_the_quick_samples_then_refines_a_weak_winner(
        tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs.db")
    outcome, model = run("adaptive", FIXABLE, store=store)
    every = store.get_run(outcome.run_id).candidates  # every stage's, as stored
    outer = outcome.candidates
    assert [c.kind for c in outer] == ["draft", "probe", "probe", "probe", "vote", "refine"]
    assert outer[0].metadata["route"]["action"] == "vote"
    vote = outer[4]
    assert vote.metadata["escalation"]["action"] == "refine"
    assert "vote share" in vote.metadata["escalation"]["rule"]
    # 1 greedy draft + 3 quick samples + 5 fresh: the vote's 8 samples reuse the quick ones.
    drafts = first_draft_requests(model)
    assert [s.get("temperature") for s in drafts].count(0.7) == 3 + 5
    vote_samples = [c for c in every if c.stage == "vote" and c.kind == "sample"]
    probes = [c.text for c in outer if c.kind == "probe"]
    assert [c.text for c in vote_samples[:3]] == probes and len(vote_samples) == 8
    # The refinement starts from the vote's winner, not from a new draft.
    refined_from = [c for c in every if c.stage == "refine" and c.kind == "draft"]
    assert [c.text for c in refined_from] == [vote.text]
    assert outcome.answer == value(0, 0)  # SPLIT's refinement fixes it
    assert [p.round for p in outcome.picks] == [0, 1, 2]


def test_a_fixed_action_never_escalates() -> None:
    outcome, model = run("adaptive[action=vote]", FIXABLE)
    outer = outcome.candidates
    assert [c.kind for c in outer][-1] == "vote" and "escalation" not in outer[-1].metadata
    assert outer[0].metadata["route"] == {"action": "vote", "rule": "fixed action", "probabilities": {}}
    assert len(model.history) == 1 + 3 + 5


def test_a_refine_arm_starts_from_the_draft_it_measured() -> None:
    outcome, model = run("adaptive[action=refine]", FRAGILE)
    assert len(first_draft_requests(model)) == 4  # no second greedy draft
    assert outcome.answer == value(1, 1)  # SPLIT's refinement breaks a right draft


def test_a_budget_that_ends_before_the_escalation_keeps_the_votes_answer() -> None:
    outcome, _ = run("adaptive", FIXABLE, budget=Budget(max_calls=9))
    outer = outcome.candidates
    assert [c.kind for c in outer][-1] == "vote"
    assert outcome.stop_reason == "budget"


def test_the_critic_and_likelihood_signals_are_recorded_when_asked() -> None:
    outcome, model = run("adaptive[critic=true,likelihood=true,samples=2]", FRAGILE)
    signals = outcome.candidates[0].metadata["signals"]
    assert signals["critic_verdict"] == "revise" and signals["mean_logprob"] == 0.0
    features = outcome.candidates[0].metadata["features"]
    assert features["critic_ok"] == 0.0 and features["mean_logprob"] == 0.0
    assert model.history[0][1].get("logprobs") is True


def test_likelihood_on_a_model_without_logprobs_is_refused_before_any_call() -> None:
    model = ScriptedModel(SPLIT.reply, supports_logprobs=False)
    with pytest.raises(StrategyError, match="logprobs"):
        run_scripted(build_strategy("adaptive[likelihood=true]", task=TASK), model, problem=FRAGILE.public())
    assert model.history == []


def test_the_rule_needs_quick_samples() -> None:
    with pytest.raises(StrategyError, match="samples >= 1"):
        build_strategy("adaptive[samples=0]")
    build_strategy("adaptive[samples=0,action=refine]")  # a fixed arm needs no agreement


def test_an_adaptive_action_is_refused() -> None:
    with pytest.raises(StrategyError, match="cannot be adaptive"):
        build_strategy('adaptive[refine="adaptive[action=stop]"]')


def constant_policy(tmp_path: Path, action: str = "refine") -> Path:
    """A policy file that always takes `action` (signals that carried no information)."""
    fitted = fitted_policy(tmp_path)
    data = json.loads(fitted.read_text())
    data["constant_action"] = action
    path = tmp_path / f"constant-{action}.json"
    path.write_text(json.dumps(data))
    return path


def fitted_policy(tmp_path: Path) -> Path:
    from redraft.runs.routing_data import training_set
    from redraft.runs.routing_fit import fit_policy

    path = tmp_path / "policy.json"
    if not path.exists():
        eval_id, store = evaluate(SPLIT, tmp_path, ["adaptive[action=stop]", "adaptive[action=vote]",
                                                    "adaptive[action=refine]"], limit=8)
        fit_policy(training_set(store, [eval_id])).save(path)
    return path


def test_a_constant_policy_measures_no_signal_and_costs_what_its_action_costs(tmp_path: Path) -> None:
    policy = constant_policy(tmp_path)
    outcome, model = run(f"adaptive[policy={policy}]", PROBLEMS[20])
    _, alone = run("self_refine[max_rounds=2]", PROBLEMS[20])
    assert len(model.history) == len(alone.history) == 5
    assert all(c.kind != "probe" for c in outcome.candidates)
    assert "no informative signal, always refine" in outcome.candidates[-1].metadata["route"]["rule"]


def test_a_policy_sets_the_signals_and_actions_and_refuses_a_contradicting_parameter(tmp_path: Path) -> None:
    policy = fitted_policy(tmp_path)
    strategy = build_strategy(f"adaptive[policy={policy}]")
    assert strategy.params.samples == 3 and strategy.params.vote == "self_consistency[k=8]"
    assert strategy.describe()["policy_digest"] == load_policy(policy).digest()
    with pytest.raises(StrategyError, match="samples=5"):
        build_strategy(f"adaptive[policy={policy},samples=5]")
    with pytest.raises(StrategyError, match="not both"):
        build_strategy(f"adaptive[policy={policy},action=vote]")
    build_strategy(f"adaptive[policy={policy},samples=3]")  # the same value is no contradiction


def test_bad_policy_files_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(StrategyError, match="no policy file"):
        build_strategy(f"adaptive[policy={tmp_path / 'missing.json'}]")
    (tmp_path / "notjson.json").write_text("{oops")
    with pytest.raises(StrategyError, match="not JSON"):
        build_strategy(f"adaptive[policy={tmp_path / 'notjson.json'}]")
    (tmp_path / "other.json").write_text('{"format": "something else"}')
    with pytest.raises(StrategyError, match="not a redraft policy"):
        build_strategy(f"adaptive[policy={tmp_path / 'other.json'}]")
    data = json.loads(fitted_policy(tmp_path).read_text())
    data["actions"][0]["model"]["kind"] = "forest"
    (tmp_path / "bad.json").write_text(json.dumps(data))
    with pytest.raises(PolicyError, match="bad policy file at actions.0.model"):
        load_policy(tmp_path / "bad.json")


def test_a_policy_is_never_evaluated_on_the_problems_it_learned_from(tmp_path: Path) -> None:
    policy = fitted_policy(tmp_path)  # fitted on problems 0..7
    with pytest.raises(LearningError, match="4 of the 8 evaluated problems were among those it was trained"):
        evaluate(SPLIT, tmp_path, [f"adaptive[policy={policy}]"], limit=8, offset=4)
    eval_id, store = evaluate(SPLIT, tmp_path, [f"adaptive[policy={policy}]"], limit=4, offset=8)
    from redraft.runs.eval_store import EvalStore

    items = EvalStore(store).items(eval_id)
    assert sorted(i.problem_id for i in items) == [f"multiarith/{i}" for i in (10, 11, 8, 9)]
    assert all(i.correct for i in items)  # SPLIT is what the policy learned: stop or refine, right


def test_an_offset_past_the_last_problem_is_an_error(tmp_path: Path) -> None:
    from redraft.tasks.base import TaskError

    with pytest.raises(TaskError, match="no problems after the first 600"):
        evaluate(SPLIT, tmp_path, ["direct"], limit=2, offset=600)

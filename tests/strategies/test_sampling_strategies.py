"""direct, self_consistency and best_of_n, and composition, call by call on scripted models."""

from __future__ import annotations

import pytest

from redraft.api import build_strategy
from redraft.context import Budget
from redraft.feedback.critic import CriticFeedback
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.base import StrategyError
from redraft.strategies.best_of_n import BestOfN
from redraft.strategies.direct import Direct
from redraft.strategies.self_consistency import SelfConsistency
from redraft.strategies.voting import vote
from redraft.tasks.extract import extract_number
from tests.helpers import roles, run_scripted


def test_direct_is_one_generation() -> None:
    model = ScriptedModel(["The answer is 4."])
    outcome = run_scripted(Direct(), model, extract=extract_number)
    assert (outcome.answer, outcome.usage.calls, outcome.stop_reason) == ("4", 1, "done")


def test_vote_counts_extracted_answers_and_breaks_ties_by_first_seen() -> None:
    assert vote(["4", "5", "4", None]).winner == "4"
    assert vote(["5", "4"]).winner == "5"
    result = vote(["4", "5", "5"], weights=[0.9, 0.2, 0.3])
    assert result.winner == "4" and result.counts == {"4": 0.9, "5": 0.5}
    assert vote([None, None]).winner is None


def test_self_consistency_votes_on_extracted_answers_not_texts() -> None:
    texts = ["So 2+2 = 4. The answer is 4.", "The answer is 5.", "Adding gives 4.0, so 4",
             "I think 5", "Answer: 4"]
    model = ScriptedModel(texts)
    outcome = run_scripted(SelfConsistency(k=5), model, extract=extract_number)
    assert outcome.answer == "4"
    assert outcome.text == texts[0]  # the first sample carrying the winning answer
    assert len(model.history) == 5 and outcome.usage.calls == 5
    assert all(s["temperature"] == 0.7 for _, s in model.history)
    assert outcome.candidates[0].metadata["vote"]["counts"] == {"4": 3.0, "5": 2.0}


def test_self_consistency_weighted_vote_uses_feedback_scores(tmp_path) -> None:
    generator = ScriptedModel(["The answer is 4.", "The answer is 5.", "The answer is 5."])
    critic = ScriptedModel(["Score: 9/10\nVERDICT: correct", "Score: 2/10\nVERDICT: revise",
                            "Score: 3/10\nVERDICT: revise"])
    store = RunStore(tmp_path / "r.db")
    outcome = run_scripted(SelfConsistency(k=3, feedback=CriticFeedback()), generator, critic=critic,
                           extract=extract_number, store=store)
    assert outcome.answer == "4"
    assert roles(store, outcome.run_id) == ["generator", "critic", "critic", "critic"]


def test_self_consistency_with_fewer_calls_left_than_samples_votes_over_what_it_could_afford() -> None:
    model = ScriptedModel(["The answer is 5.", "The answer is 4.", "The answer is 4."])
    outcome = run_scripted(SelfConsistency(k=5), model, budget=Budget(max_calls=3), extract=extract_number)
    assert (outcome.stop_reason, outcome.answer, outcome.usage.calls) == ("budget", "4", 3)
    assert outcome.candidates[1].metadata["vote"]["counts"] == {"5": 1.0, "4": 2.0}


def test_best_of_n_keeps_the_highest_score() -> None:
    generator = ScriptedModel(["a", "b", "c"])
    critic = ScriptedModel(["Score: 3/10", "Score: 8/10", "Score: 5/10"])
    outcome = run_scripted(BestOfN(n=3, feedback=CriticFeedback()), generator, critic=critic)
    assert outcome.text == "b"
    assert [c.score for c in outcome.candidates] == [0.3, 0.8, 0.5]
    assert len(critic.history) == 3


def test_best_of_n_threshold_takes_the_first_good_enough() -> None:
    generator = ScriptedModel(["a", "b", "c"])
    critic = ScriptedModel(["Score: 7/10", "Score: 9/10", "Score: 8/10"])
    outcome = run_scripted(BestOfN(n=3, threshold=0.7, feedback=CriticFeedback()), generator,
                           critic=critic)
    assert outcome.text == "a"


def test_best_of_n_budget_cut_during_scoring_returns_a_sample() -> None:
    generator = ScriptedModel(["a", "b", "c"])
    critic = ScriptedModel(["Score: 7/10"] * 3)
    outcome = run_scripted(BestOfN(n=3, feedback=CriticFeedback()), generator, critic=critic,
                           budget=Budget(max_calls=4))
    assert outcome.stop_reason == "budget" and outcome.text in {"a", "b", "c"}
    assert outcome.usage.calls == 4


def test_composition_drafts_come_from_the_inner_strategy(tmp_path) -> None:
    # best_of_n>self_refine: self_refine's first draft is best_of_n's pick.
    strategy = build_strategy("best_of_n>self_refine", CriticFeedback(), max_rounds=1)
    assert strategy.full_name == "best_of_n>self_refine"
    model = ScriptedModel([
        "draft a", "draft b", "draft c", "draft d",                      # best_of_n samples
        "Score: 1/10", "Score: 9/10", "Score: 2/10", "Score: 3/10",      # its scores
        "VERDICT: correct",                                              # self_refine's critique
    ])
    store = RunStore(tmp_path / "r.db")
    outcome = run_scripted(strategy, model, store=store)
    assert outcome.text == "draft b" and outcome.stop_reason == "verdict"
    assert outcome.strategy == "best_of_n>self_refine"
    assert [c.kind for c in outcome.candidates] == ["draft"]  # the outer strategy's own candidates
    stored = store.get_run(outcome.run_id).candidates
    assert sum(c.stage == "best_of_n" for c in stored) == 4


def test_composition_runs_the_drafter_once_per_sample() -> None:
    strategy = build_strategy("direct>self_consistency", k=3)
    model = ScriptedModel(["The answer is 1", "The answer is 2", "The answer is 2"])
    outcome = run_scripted(strategy, model, extract=extract_number)
    assert outcome.answer == "2" and len(model.history) == 3


def test_bad_composition_specs() -> None:
    with pytest.raises(StrategyError, match="bad strategy spec"):
        build_strategy("direct>")
    with pytest.raises(StrategyError, match="unknown strategy 'nope'"):
        build_strategy("nope>direct")


def test_best_of_n_with_the_step_reward_scorer() -> None:
    strategy = build_strategy("best_of_n", "step_reward", n=2)
    model = ScriptedModel(["first try", "second try", "Step 1: 2/10\nOverall: 1/10",
                           "Step 1: 9/10\nOverall: 8/10"])
    outcome = run_scripted(strategy, model)
    assert outcome.text == "second try"
    assert [round(c.score, 2) for c in outcome.candidates] == [0.15, 0.85]


def test_specs_carry_per_stage_parameters_and_a_feedback_source() -> None:
    from redraft.strategies.base import parse_spec

    spec = parse_spec("best_of_n[n=2, threshold=0.5]>self_refine[max_rounds=1,final=best_score]@critic")
    assert [(s.name, s.params) for s in spec.stages] == [
        ("best_of_n", {"n": 2, "threshold": 0.5}), ("self_refine", {"max_rounds": 1, "final": "best_score"})]
    assert spec.feedback == "critic"
    strategy = build_strategy("best_of_n[n=2]>self_refine[max_rounds=1]@critic", max_rounds=3)
    assert strategy.params.max_rounds == 1  # written in the spec beats the keyword default
    assert strategy.drafter.params.n == 2 and strategy.feedback.name == "critic"
    assert strategy.full_name == "best_of_n>self_refine"
    with pytest.raises(StrategyError, match="bad parameter 'n' in"):
        build_strategy("best_of_n[n]")
    with pytest.raises(StrategyError, match="best_of_n has no parameter k"):
        build_strategy("best_of_n[k=2]")
    with pytest.raises(StrategyError, match="names its feedback source"):
        build_strategy("self_refine@critic", CriticFeedback())

"""Self-Refine's control flow, call by call, on scripted models."""

from __future__ import annotations

from redraft.context import Budget
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.self_refine import SelfRefine, refine_messages
from redraft.trace import Verdict
from tests.helpers import PROBLEM, roles, run_scripted

REVISE = "The sum is wrong.\nVERDICT: revise"
CORRECT = "Looks right.\nVERDICT: correct"


def test_stops_when_the_verdict_says_no_change_is_needed(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = ScriptedModel(["5", REVISE, "4", CORRECT])
    outcome = run_scripted(SelfRefine(), model, store=store)
    assert outcome.stop_reason == "verdict"
    assert outcome.text == "4"
    assert roles(store, outcome.run_id) == ["generator", "critic", "refiner", "critic"]
    assert [(c.round, c.kind, c.verdict) for c in outcome.candidates] == [
        (0, "draft", Verdict.REVISE), (1, "refine", Verdict.OK)
    ]
    assert outcome.usage.calls == 4


def test_stops_after_max_rounds_and_returns_the_last_candidate() -> None:
    model = ScriptedModel(["a0", REVISE, "a1", REVISE, "a2"])
    outcome = run_scripted(SelfRefine(max_rounds=2), model)
    assert outcome.stop_reason == "max_rounds"
    assert outcome.text == "a2"
    assert len(model.history) == 5  # 1 draft + 2 x (feedback, refine): the last redraft is not judged
    assert [c.round for c in outcome.candidates] == [0, 1, 2]
    assert outcome.candidates[-1].verdict is None


def test_zero_rounds_is_the_plain_draft() -> None:
    model = ScriptedModel(["only"])
    outcome = run_scripted(SelfRefine(max_rounds=0), model)
    assert (outcome.text, len(model.history), outcome.stop_reason) == ("only", 1, "max_rounds")


def test_unparseable_verdict_is_recorded_and_treated_as_revise_by_default() -> None:
    model = ScriptedModel(["a0", "I am not sure what to say.", "a1", CORRECT])
    outcome = run_scripted(SelfRefine(), model)
    assert outcome.candidates[0].verdict is Verdict.UNKNOWN
    assert outcome.candidates[0].feedback == "I am not sure what to say."
    assert outcome.text == "a1"
    assert outcome.stop_reason == "verdict"


def test_unparseable_verdict_can_stop_the_loop() -> None:
    model = ScriptedModel(["a0", "no verdict here"])
    outcome = run_scripted(SelfRefine(on_unknown="stop"), model)
    assert outcome.stop_reason == "unparsed_verdict"
    assert outcome.text == "a0"
    assert len(model.history) == 2


def test_a_separate_critic_model_gives_the_feedback() -> None:
    generator = ScriptedModel(["5", "4"], name="small")
    critic = ScriptedModel([REVISE, CORRECT], name="strong")
    outcome = run_scripted(SelfRefine(), generator, critic=critic)
    assert outcome.text == "4"
    assert len(generator.history) == 2 and len(critic.history) == 2
    # The critic sees the problem and the candidate it judges.
    first_critique = critic.history[0][0][0]["content"]
    assert "What is 2 + 2?" in first_critique and "5" in first_critique
    assert set(outcome.usage_by_role) == {"generator", "critic", "refiner"}
    assert outcome.usage_by_role["critic"].calls == 2


def test_refiner_sees_its_draft_and_the_feedback() -> None:
    model = ScriptedModel(["5", REVISE, "4", CORRECT])
    run_scripted(SelfRefine(), model)
    refine_call = model.history[2][0]
    assert [m["role"] for m in refine_call] == ["user", "assistant", "user"]
    assert refine_call[1]["content"] == "5"
    assert "The sum is wrong." in refine_call[2]["content"]


def test_budget_exhaustion_returns_the_last_candidate() -> None:
    model = ScriptedModel(["a0", REVISE, "a1", REVISE, "a2"])
    outcome = run_scripted(SelfRefine(), model, budget=Budget(max_calls=3))
    assert outcome.stop_reason == "budget"
    assert outcome.text == "a1"
    assert len(model.history) == 3


def test_token_budget_stops_before_the_call_that_would_pass_it() -> None:
    # The budget is hard: the draft (5 + 8 worst case) fits, the critique's prompt does not.
    model = ScriptedModel(["one two three", REVISE, "a1", REVISE, "a2"])
    outcome = run_scripted(SelfRefine(), model, budget=Budget(max_tokens=30), sampling={"max_tokens": 8})
    assert outcome.stop_reason == "budget" and outcome.text == "one two three"
    assert outcome.usage.total_tokens <= 30 and len(model.history) == 1


def test_best_score_final_rule_picks_the_highest_scored_candidate() -> None:
    model = ScriptedModel(["a0", "Score: 8/10\nVERDICT: revise", "a1", "Score: 3/10\nVERDICT: revise", "a2",
                           "Score: 5/10\nVERDICT: revise"])
    outcome = run_scripted(SelfRefine(max_rounds=2, final="best_score"), model)
    assert outcome.text == "a0"
    assert outcome.candidates[0].score == 0.8


def test_best_score_judges_the_last_refinement_so_it_can_win() -> None:
    model = ScriptedModel(["a0", "Score: 3/10\nVERDICT: revise", "a1", "Score: 9/10\nVERDICT: revise"])
    outcome = run_scripted(SelfRefine(max_rounds=1, final="best_score"), model)
    assert (outcome.text, outcome.candidates[-1].score, outcome.usage.calls) == ("a1", 0.9, 4)


def test_last_rule_does_not_judge_the_last_refinement() -> None:
    model = ScriptedModel(["a0", "Score: 3/10\nVERDICT: revise", "a1"])
    outcome = run_scripted(SelfRefine(max_rounds=1), model)
    assert (outcome.text, outcome.candidates[-1].score, outcome.usage.calls) == ("a1", None, 3)


def test_history_is_trimmed_oldest_first_but_keeps_the_latest_attempt() -> None:
    history = [("x" * 400, "fb1"), ("y" * 400, "fb2"), ("z" * 40, "fb3")]
    messages = refine_messages(PROBLEM, history, max_tokens=50)
    contents = [m["content"] for m in messages]
    assert contents[0] == PROBLEM.prompt
    assert "z" * 40 in contents and "x" * 400 not in contents
    huge = refine_messages(PROBLEM, [("w" * 10_000, "fb")], max_tokens=10)
    assert "w" * 10_000 in [m["content"] for m in huge]

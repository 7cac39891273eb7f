"""The critical-prompt baseline (Huang et al.), intrinsic and oracle-stopped, call by call."""

from __future__ import annotations

from redraft.context import Budget, Context
from redraft.feedback.oracle import OracleFeedback
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.critical import IMPROVE_PROMPT, REVIEW_PROMPT, Critical
from redraft.tasks.arithmetic import MultiArith
from redraft.tasks.base import Problem
from redraft.tasks.extract import extract_number
from redraft.trace import Feedback, Verdict
from tests.helpers import roles, run_scripted

WRONG, RIGHT = "2 + 2 = 5. The answer is 5.", "2 + 2 = 4. The answer is 4."


class ScriptedFeedback:
    """An oracle-like judge that answers from a list of verdicts, and remembers what it judged."""

    name = "scripted"
    oracle = True

    def __init__(self, verdicts: list[Verdict]) -> None:
        self.verdicts = list(verdicts)
        self.judged: list[str] = []

    async def judge(self, problem: Problem, candidate: str, ctx: Context) -> Feedback:
        self.judged.append(candidate)
        verdict = self.verdicts.pop(0)
        return Feedback(verdict=verdict, score=float(verdict is Verdict.OK), text=f"judged {verdict}")


def test_intrinsic_setting_runs_every_round_in_one_conversation(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = ScriptedModel([RIGHT, "Problem: none really.", WRONG, "Problem: the sum.", RIGHT])
    outcome = run_scripted(Critical(), model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator", "critic", "refiner", "critic", "refiner"]
    assert (outcome.stop_reason, outcome.text, outcome.answer) == ("max_rounds", RIGHT, "4")
    assert [(c.round, c.kind, c.answer) for c in outcome.candidates] == [
        (0, "draft", "4"), (1, "refine", "5"), (2, "refine", "4")
    ]
    assert not outcome.oracle
    last_call = model.history[-1][0]
    assert [m["content"] for m in last_call] == [
        "What is 2 + 2?", RIGHT, REVIEW_PROMPT, "Problem: none really.", IMPROVE_PROMPT,
        WRONG, REVIEW_PROMPT, "Problem: the sum.", IMPROVE_PROMPT,
    ]


def test_each_review_is_the_feedback_of_the_answer_it_reviews_without_a_verdict(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = ScriptedModel([RIGHT, "review one", WRONG, "review two", RIGHT])
    outcome = run_scripted(Critical(), model, store=store)
    assert [(c.feedback, c.verdict) for c in outcome.candidates] == [
        ("review one", None), ("review two", None), (None, None)
    ]
    stored = store.get_run(outcome.run_id).candidates
    assert [c.feedback for c in stored] == ["review one", "review two", None]


def test_oracle_like_feedback_stops_as_soon_as_an_answer_is_ok(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    judge = ScriptedFeedback([Verdict.REVISE, Verdict.OK])
    model = ScriptedModel([WRONG, "The sum is off.", RIGHT])
    outcome = run_scripted(Critical(feedback=judge), model, store=store)
    assert roles(store, outcome.run_id) == ["generator", "critic", "refiner"]
    assert (outcome.stop_reason, outcome.text, outcome.oracle) == ("verdict", RIGHT, True)
    assert judge.judged == [WRONG, RIGHT]
    draft, refined = outcome.candidates
    assert (draft.verdict, draft.score, draft.feedback) == (Verdict.REVISE, 0.0, "The sum is off.")
    assert draft.metadata["judge"] == "judged revise"
    assert (refined.verdict, refined.score) == (Verdict.OK, 1.0)


def test_oracle_feedback_keeps_a_right_first_answer_untouched() -> None:
    model = ScriptedModel([RIGHT])
    outcome = run_scripted(Critical(feedback=OracleFeedback(MultiArith())), model, extract=extract_number)
    assert (outcome.stop_reason, outcome.text, len(model.history)) == ("verdict", RIGHT, 1)
    assert outcome.oracle and outcome.candidates[0].verdict is Verdict.OK


def test_both_settings_side_by_side_on_the_same_replies() -> None:
    replies = [RIGHT, "Maybe 2 + 2 is 5?", WRONG, "Looks fine.", WRONG]
    intrinsic = run_scripted(Critical(), ScriptedModel(replies), extract=extract_number)
    oracle = run_scripted(Critical(feedback=OracleFeedback(MultiArith())), ScriptedModel(replies),
                          extract=extract_number)
    assert (intrinsic.answer, intrinsic.usage.calls) == ("5", 5)  # self-correction made it worse
    assert (oracle.answer, oracle.usage.calls) == ("4", 1)


def test_oracle_that_never_says_ok_runs_all_rounds_and_does_not_judge_the_last_answer() -> None:
    judge = ScriptedFeedback([Verdict.REVISE, Verdict.UNKNOWN])
    model = ScriptedModel([WRONG, "r1", WRONG, "r2", RIGHT])
    outcome = run_scripted(Critical(feedback=judge), model)
    assert (outcome.stop_reason, outcome.text, len(judge.judged)) == ("max_rounds", RIGHT, 2)
    assert [c.verdict for c in outcome.candidates] == [Verdict.REVISE, Verdict.UNKNOWN, None]


def test_zero_rounds_is_the_plain_answer() -> None:
    outcome = run_scripted(Critical(max_rounds=0), ScriptedModel([RIGHT]))
    assert (outcome.text, outcome.usage.calls, outcome.stop_reason) == (RIGHT, 1, "max_rounds")


def test_budget_exhaustion_returns_the_last_answer() -> None:
    model = ScriptedModel([RIGHT, "r1", WRONG, "r2", RIGHT])
    outcome = run_scripted(Critical(), model, budget=Budget(max_calls=4))
    assert (outcome.stop_reason, outcome.text, len(model.history)) == ("budget", WRONG, 4)
    assert outcome.candidates[-1].feedback == "r2"  # reviewed; the improvement was cut off

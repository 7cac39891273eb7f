"""Per-round picks: made by the strategy at the end of each round while it runs, never re-derived."""

from __future__ import annotations

import asyncio

from redraft.context import Context
from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.runs.evaluation import EvalConfig, Evaluation
from redraft.runs.store import RunStore
from redraft.strategies.base import Final, Strategy
from redraft.strategies.mctsr import DUMMY, MCTSr
from redraft.tasks import MultiArith
from redraft.tasks.base import Problem
from redraft.tasks.extract import extract_number
from redraft.trace import Candidate
from tests.helpers import run_scripted
from tests.strategies.test_mctsr import REFINEMENTS, mctsr_model

# As tests/strategies/test_mctsr.py's two rollouts, but a2 is graded -100. At the end of round 1
# (when a2 is recorded) Q(a1) = 60 beats Q(a0) = 57.5: round 1's pick is a1 ("4"). Back-propagating
# a2's grade afterwards gives Q(a1) = (60 - 100) / 2 = -20 and Q(a0) = (25 - 20) / 2 = 2.5, so
# re-deriving round 1 from the final Q values would pick a0 ("5"): a look-ahead.
GRADES = {
    "The answer is 5.": ["[Analysis] Off by one.\n[Score] 40", "[Score] 20"],
    DUMMY: ["[Score] -80"],
    "The answer is 4.": ["[Score] 90", "[Score] 100"],
    "It is 4, I think.": ["[Score] -100"],
}


def test_mctsr_round_one_is_the_pick_made_then_not_one_using_the_final_q_values(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    strategy = MCTSr(rollouts=2)
    outcome = run_scripted(strategy, mctsr_model("The answer is 5.", GRADES, REFINEMENTS),
                           store=store, extract=extract_number)
    assert [(p.round, p.answer) for p in outcome.picks] == [(0, "5"), (1, "4"), (2, "5")]
    rederived = strategy.select([c for c in outcome.candidates if c.round <= 1])
    assert rederived is not None and rederived.answer == "5"  # what the look-ahead would have said
    assert outcome.picks[1].score == 60.0  # a1's Q at the time
    assert outcome.picks[-1].text == outcome.text
    stored = store.get_run(outcome.run_id).picks  # type: ignore[arg-type]
    assert [(p.round, p.answer, p.candidate_seq) for p in stored] == [
        (p.round, p.answer, p.candidate_seq) for p in outcome.picks]


PROBLEMS = MultiArith().load(limit=2)
REFERENCES = {p.prompt: p.reference for p in PROBLEMS}


class Regrader(Strategy):
    """Round 0: a right answer scored 1 and a wrong one scored 0; round 1: a wrong one scored 0.5,
    after which the right answer is re-graded -1. Picks the highest score."""

    name = "regrader"

    async def solve(self, problem: Problem, ctx: Context) -> Final:
        reference = int(float(REFERENCES[problem.prompt] or 0))
        right = ctx.record(round=0, kind="draft", text=f"The answer is {reference}.", score=1.0)
        ctx.record(round=0, kind="draft", text=f"The answer is {reference + 1}.", score=0.0)
        ctx.record(round=1, kind="refine", text=f"The answer is {reference + 2}.", score=0.5)
        right.score = -1.0
        ctx.update(right)
        return Final(candidate=self.select(ctx.candidates), stop_reason="done")

    def select(self, candidates: list[Candidate]) -> Candidate | None:
        return max(candidates, key=lambda c: c.score or 0.0, default=None)


def test_a_pick_keeps_the_fields_of_its_time_and_the_evaluation_scores_it(tmp_path, monkeypatch) -> None:
    store = RunStore(tmp_path / "r.db")
    config = EvalConfig(task="multiarith", strategies=["direct"], limit=2, cache=False)
    evaluation = Evaluation(config, store, models={"generator": ManagedModel(ScriptedModel(["unused"]))})
    monkeypatch.setattr(evaluation.runner, "build", lambda spec: Regrader())
    items = asyncio.run(evaluation.run())
    assert len(items) == 2
    for item in items:
        # Round 0 picked the right answer (score 1 then); re-deriving it after the re-grade
        # would pick the wrong one (score 0) and report False.
        assert item.round_correct == [True, False]
        picks = store.get_run(item.run_id).picks  # type: ignore[arg-type]
        assert [(p.round, p.score) for p in picks] == [(0, 1.0), (1, 0.5)]

"""The trace a data engine needs: each candidate names the call that wrote it and its stage."""

from __future__ import annotations

import asyncio

from redraft.context import Context
from redraft.feedback.program import ProgramFeedback
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.base import Composed
from redraft.strategies.registry import build_strategy
from redraft.strategies.self_consistency import SelfConsistency
from redraft.tasks.extract import extract_number
from tests.helpers import PROBLEM, managed, run_scripted


def test_candidates_link_to_their_call_and_stage_in_the_store() -> None:
    store = RunStore()
    strategy = build_strategy("direct>self_consistency[k=2]")
    assert isinstance(strategy, Composed) and strategy.full_name == "direct>self_consistency"
    outcome = run_scripted(strategy, ScriptedModel(["The answer is 4", "The answer is 5"]), store=store,
                           extract=extract_number)
    run = store.get_run(outcome.run_id or "")
    calls = {c.seq: c for c in run.call_records}
    for candidate in run.candidates:
        assert candidate.call_seq in calls and calls[candidate.call_seq].text == candidate.text
    assert [(c.stage, c.kind) for c in run.candidates] == [
        ("direct#0", "draft"), ("direct#1", "draft"), (None, "sample"), (None, "sample")]
    assert {c.stage for c in run.call_records} <= {"direct#0", "direct#1"}


def test_refinement_candidates_name_the_refiner_call() -> None:
    store = RunStore()
    critic = ScriptedModel(["Wrong.\nVERDICT: revise"])
    outcome = run_scripted(build_strategy("self_refine[max_rounds=1]"), ScriptedModel(["3", "4"]),
                           critic=critic, store=store)
    run = store.get_run(outcome.run_id or "")
    roles = {c.seq: c.role for c in run.call_records}
    assert [roles[c.call_seq or 0] for c in run.candidates] == ["generator", "refiner"]


def test_select_is_pure() -> None:
    strategy = SelfConsistency(k=3)
    ctx = Context({"generator": managed(ScriptedModel([]))}, extract=extract_number)
    samples = [ctx.record(round=0, kind="sample", text=t) for t in ("1", "2", "2")]
    before = [c.model_dump() for c in samples]
    for _ in range(2):
        assert strategy.select(samples) is samples[1]
    assert [c.model_dump() for c in samples] == before


def test_program_feedback_keeps_its_program_in_the_solve_store() -> None:
    source = ProgramFeedback()
    model = ScriptedModel(["```python\ndef verify(answer):\n    return answer == '4'\n```"] * 2)
    first, second = (Context({"generator": managed(model)}) for _ in range(2))
    program = asyncio.run(source.program_for(PROBLEM, first))
    assert first.store["program_feedback"][PROBLEM.id] == program
    source.set_program(PROBLEM, "def verify(answer):\n    return False", first)
    assert asyncio.run(source.program_for(PROBLEM, second)) == program  # another solve: its own program
    assert len(model.history) == 2

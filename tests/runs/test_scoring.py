"""Model-graded scoring belongs to the runner: judge calls are traced, in role `judge`, and priced apart."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.report.summary import summarize
from redraft.runs.eval_store import EvalStore
from redraft.runs.evaluation import EvalConfig, Evaluation
from redraft.runs.store import RunStore


def test_an_open_ended_evaluation_records_its_judge_calls_apart_from_the_method(tmp_path: Path) -> None:
    data = tmp_path / "essays.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in [
        {"prompt": "Write a haiku about rain.", "checklist": ["mentions rain", "three lines"]},
        {"prompt": "Name a prime.", "checklist": ["is a prime"]},
    ]) + "\n")

    def reply(messages: list[dict[str, str]]) -> str:
        last = messages[-1]["content"]
        if "checklist item" in last:
            return "1. yes\n2. yes" if "rain" in last else "1. no"
        return "Rain taps the roof" if "rain" in last else "Nine"

    generator, judge = ScriptedModel(reply, name="writer"), ScriptedModel(reply, name="grader")
    models = {"generator": ManagedModel(generator), "judge": ManagedModel(judge)}
    store = RunStore()
    config = EvalConfig(task=f"open_ended:{data}", strategies=["direct"], max_tokens=77, temperature=0.7)
    items = asyncio.run(Evaluation(config, store, models=models).run())

    assert [i.correct for i in items] == [True, False]
    assert all(i.calls == 1 and i.judge_calls == 1 and i.judge_tokens > 0 for i in items)
    run = store.get_run(items[0].run_id or "")
    roles = [(c.role, c.model) for c in run.call_records]
    assert roles == [("generator", "writer"), ("judge", "grader")]
    judged = run.call_records[1]
    # The evaluation's temperature, not the method's 0.7; max_tokens raised to the judging floor.
    assert judged.sampling == {"temperature": 0.0, "max_tokens": 768}
    assert judged.seq > max(c.seq for c in run.candidates)  # after the method's trace, in the same run
    assert run.calls == 1 and run.judge_usage is not None and run.judge_usage.calls == 1
    assert [h[1]["temperature"] for h in generator.history] == [0.7, 0.7]
    summary, _ = summarize(store, EvalStore(store).recent(1)[0].id)
    [direct] = summary.strategies
    assert direct.judge_calls == 2 and direct.judge_tokens == sum(i.judge_tokens for i in items)
    method_tokens = direct.prompt_tokens + direct.completion_tokens
    assert direct.calls == 2 and method_tokens == sum(i.tokens for i in items)


def test_without_a_judge_role_the_critic_then_the_generator_grades(tmp_path: Path) -> None:
    data = tmp_path / "e.jsonl"
    data.write_text(json.dumps({"prompt": "Say hi.", "checklist": ["greets"]}) + "\n")
    model = ScriptedModel(lambda m: "1. yes" if "checklist item" in m[-1]["content"] else "hi")
    store = RunStore()
    [item] = asyncio.run(Evaluation(EvalConfig(task=f"open_ended:{data}", strategies=["direct"]), store,
                                    models={"generator": ManagedModel(model)}).run())
    assert item.correct and item.judge_calls == 1
    assert [c.role for c in store.get_run(item.run_id or "").call_records] == ["generator", "judge"]

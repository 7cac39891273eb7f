"""ssc, sr_nle, auto_evolve and metareflection end to end through the fake OpenAI-compatible endpoint."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from redraft import refine
from redraft.models.resolve import ModelConfig
from redraft.runs.eval_store import EvalStore
from redraft.runs.evaluation import EvalConfig, Evaluation
from redraft.runs.store import RunStore
from redraft.tasks.base import Problem
from redraft.tasks.extract import extract_number
from redraft.testing import FakeOpenAIServer, FakeReply, serve

#: A reply every prompt of the four strategies can read: explanation, feedback, a word ranking, an answer.
READABLE = "Explanation: two and two.\nFeedback: fine.\n1. two, 90\n2. sum, 40\nThe answer is 4."


def respond(body: dict[str, Any]) -> FakeReply:
    return FakeReply(READABLE)


@pytest.fixture
def endpoint() -> Iterator[FakeOpenAIServer]:
    with serve(FakeOpenAIServer(respond=respond)) as server:
        yield server


PROBLEM = Problem(id="e2e", prompt="What is 2 + 2? End with 'The answer is N.'", reference="4")


@pytest.mark.parametrize(
    ("spec", "calls"),
    [
        ("ssc", 4),
        ("sr_nle", 8),
        ("sr_nle[style=iw]", 6),
        ("auto_evolve", 9),
        ("metareflection[instructions='1. Add.']", 1),
    ],
)
def test_each_runs_to_an_answer_through_the_endpoint(spec: str, calls: int, endpoint, tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    outcome = refine(
        PROBLEM,
        strategy=spec,
        model=ModelConfig(model="fake", base_url=endpoint.base_url),
        store=store,
        sampling={"temperature": 0.0, "max_tokens": 64},
    )
    assert extract_number(outcome.text) == "4" and outcome.usage.calls == calls == len(endpoint.requests)
    run = store.get_run(outcome.run_id)
    assert run.status == "done" and run.final_text == outcome.text
    assert all(c.error is None for c in run.call_records)


def test_metareflection_learns_and_answers_in_an_evaluation_through_the_endpoint(endpoint, tmp_path) -> None:
    def write(path: Path, pairs: list[tuple[int, int]]) -> Path:
        path.write_text(
            "".join(json.dumps({"question": f"What is {a} + {b}?", "answer": a + b}) + "\n" for a, b in pairs)
        )
        return path

    train = write(tmp_path / "train.jsonl", [(1, 1), (1, 2), (2, 3)])
    test = write(tmp_path / "test.jsonl", [(2, 2)])
    spec = f"metareflection[train=jsonl:{train},batch_size=2]"
    config = EvalConfig(
        task=f"jsonl:{test}",
        strategies=[spec],
        cache=False,
        max_tokens=64,
        generator=ModelConfig(model="fake", base_url=endpoint.base_url),
    )
    store = RunStore(tmp_path / "r.db")
    run = Evaluation(config, store)
    [item] = asyncio.run(run.run())
    recorded = EvalStore(store).get(run.eval_id).config["calibration"][spec]
    # validation (1), then one batch of 2 wrong answers: 2 answers, 2 reflections, a merge, its validation
    assert recorded["calls"] == 1 + 2 + 2 + 1 + 1 and recorded["learning"]["batches"] == 1
    assert (item.status, item.correct, item.calls) == ("done", True, 1)
    assert len(endpoint.requests) == recorded["calls"] + 1


def test_the_listing_gives_each_its_paper_defaults_and_roles() -> None:
    import subprocess
    import sys

    listed = subprocess.run(
        [sys.executable, "-m", "redraft", "strategies", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    info = {s["name"]: s for s in json.loads(listed.stdout)}
    expected = {
        "ssc": ("Gallego, 2025", ["generator", "critic", "rewriter"], {}),
        "sr_nle": (
            "Wang & Atanasova, 2025",
            ["generator", "explainer", "critic"],
            {"rounds": 3, "style": "nl", "top_words": 5},
        ),
        "auto_evolve": ("Aswani et al., 2024", ["generator", "planner", "critic"], {"rounds": 3}),
        "metareflection": (
            "Gupta et al., 2024",
            ["generator", "reflector", "rewriter"],
            {"train": None, "validation": 0.25, "batch_size": 4, "epochs": 1, "instructions": None},
        ),
    }
    for name, (authors, roles, defaults) in expected.items():
        assert authors in info[name]["paper"] and info[name]["roles"] == roles
        assert {key: info[name]["params"][key]["default"] for key in defaults} == defaults
    assert "Score the response" in info["ssc"]["params"]["rubric"]["default"]

"""Every strategy runs end to end on the real embedded model (a smoke test, not an accuracy test).

Parameters are the cheapest that still exercise each loop; max_tokens is small.
"""

from __future__ import annotations

import pytest

import redraft
from redraft.runs.store import RunStore
from redraft.strategies import REGISTRY
from redraft.tasks.base import Problem

pytestmark = pytest.mark.slow

ARITHMETIC = Problem(id="smoke/arith", prompt="Tom has 3 apples and buys 4 more. How many apples does "
                     "he have? End with 'The answer is N.'", reference="7")
TRANSLATION = Problem(id="smoke/tear", prompt="Translate into French: The cat sleeps on the warm chair.")
CODE = Problem(
    id="smoke/code", prompt="Write a Python function add(a, b) that returns the sum of a and b.",
    metadata={"entry_point": "add", "prompt": "def add(a, b):\n", "tests": ["assert add(1, 2) == 3"]},
)

SMOKE = {
    "direct": ({}, ARITHMETIC),
    "adaptive": ({"samples": 2, "vote": "self_consistency[k=3]", "refine": "self_refine[max_rounds=1]"},
                 ARITHMETIC),
    "self_refine": ({"max_rounds": 1}, ARITHMETIC),
    "critical": ({"max_rounds": 1}, ARITHMETIC),
    "ioe": ({}, ARITHMETIC),
    "wait": ({"rounds": 1}, ARITHMETIC),
    "injected_error": ({"turn": "own", "wait": True}, ARITHMETIC),
    "self_polish": ({"max_rounds": 1}, ARITHMETIC),
    "art": ({}, ARITHMETIC),
    "tear": ({}, TRANSLATION),
    "progco": ({"max_rounds": 1}, ARITHMETIC),
    "best_of_n": ({"n": 2}, ARITHMETIC),
    "self_consistency": ({"k": 2}, ARITHMETIC),
    "gsr": ({"n": 2}, ARITHMETIC),
    "self_contrast": ({"perspectives": 2, "max_pairs": 1}, ARITHMETIC),
    "magicore": ({"k": 2, "max_rounds": 1, "refine_top": 1}, ARITHMETIC),
    "mctsr": ({"rollouts": 1}, ARITHMETIC),
    "reflexion": ({"max_rounds": 1, "n_tests": 2}, CODE),
    "self_debug": ({"max_rounds": 1}, CODE),
    "iort": ({"max_iterations": 1}, ARITHMETIC),
    "filtered_vote": ({"k": 2}, ARITHMETIC),
    "cove": ({"max_questions": 2}, ARITHMETIC),
    "rci": ({}, ARITHMETIC),
    "strategy_switch": ({"styles": ["cot", "pot"]}, ARITHMETIC),
    "tournament": ({"n": 2}, ARITHMETIC),
    "rsa": ({"n": 2, "k": 2, "rounds": 1}, ARITHMETIC),
    "ab_mcts": ({"iterations": 2}, ARITHMETIC),
    "pairwise_preference": ({}, ARITHMETIC),
    "ptrue": ({"k": 2}, ARITHMETIC),
    "likelihood": ({"k": 2}, ARITHMETIC),
    "id_sampling": ({"n": 2, "b0": 16, "max_budget": 48}, ARITHMETIC),
    "local_refine": ({}, ARITHMETIC),
    "ssc": ({}, ARITHMETIC),
    "sr_nle": ({"rounds": 1}, ARITHMETIC),
    "auto_evolve": ({"rounds": 1}, ARITHMETIC),
    "metareflection": ({"instructions": "1. Add the numbers, then check the sum."}, ARITHMETIC),
}


def test_every_registered_strategy_has_a_smoke_run() -> None:
    assert set(SMOKE) == set(REGISTRY)


@pytest.mark.parametrize("name", sorted(SMOKE))
def test_strategy_runs_on_the_embedded_model(name: str, tmp_path) -> None:
    params, problem = SMOKE[name]
    store = RunStore(tmp_path / "runs.db")

    async def run() -> redraft.Outcome:
        from redraft.api import arefine

        return await arefine(problem, strategy=name, model="local", store=store,
                             sampling={"temperature": 0.0, "max_tokens": 48, "seed": 0}, **params)

    import asyncio

    outcome = asyncio.run(run())
    detail = store.get_run(outcome.run_id)
    assert detail.status == "done" and detail.strategy == name
    assert outcome.candidates and outcome.stop_reason
    assert outcome.usage.calls == sum(len(c.texts) or 1 for c in detail.call_records) >= 1
    assert all(c.error is None for c in detail.call_records)
    assert outcome.text == detail.final_text

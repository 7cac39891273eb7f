"""Under the evaluation defaults (temperature 0, response cache on, a fixed seed), a method that
samples must still draw different samples: its own temperature, and a seed per sample.

The scripted model answers greedily (a function of the prompt alone) at temperature 0 and
per seed above it, so N copies of one answer mean the method's N samples were one draw.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from redraft.models.base import Message
from redraft.models.cache import ResponseCache
from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.runs.outcome import Outcome
from redraft.runs.runner import run_strategy
from redraft.strategies.registry import STRATEGIES, build_strategy
from redraft.tasks.extract import extract_number
from tests.helpers import PROBLEM, REQUIRED_PARAMS

#: What `redraft eval` sends by default (EvalConfig: temperature 0, max_tokens 512) with `--seed 7`.
EVAL_DEFAULTS = {"temperature": 0.0, "max_tokens": 512, "seed": 7}

#: Where each sampling method's paper samples: candidates of these kinds are separate draws
#: (MCTSr's children of one node, MAgICoRe's refinements of one lineage, across rounds).
SAMPLED = {
    "best_of_n": {"sample"},
    "gsr": {"sample"},
    "magicore": {"sample", "refine"},
    "mctsr": {"refine"},
    "self_consistency": {"sample"},
    "self_contrast": {"perspective"},
    "filtered_vote": {"sample"},
    "direct>self_consistency": {"sample"},
    "direct>best_of_n": {"sample"},
    "direct>gsr": {"sample"},
    "tournament": {"sample"},
    "rsa": {"sample", "aggregate"},
    "ab_mcts": {"sample"},
    "ptrue": {"sample"},
    "likelihood": {"sample"},
    "id_sampling": {"sample"},
    "adaptive": {"probe"},
}
#: Methods that draw one answer per step (the paper's loop is sequential, not sampled).
SEQUENTIAL = {"art", "critical", "direct", "injected_error", "ioe", "progco", "reflexion", "self_debug",
              "self_polish", "self_refine", "tear", "wait", "pairwise_preference", "cove", "iort", "rci",
              "strategy_switch", "local_refine"}
SEQUENTIAL |= {"auto_evolve", "metareflection", "sr_nle", "ssc"}


def draw(messages: list[Message], sampling: dict[str, Any]) -> str:
    """A reply that is one greedy answer per prompt at temperature 0, else one per seed."""
    prompt = messages[-1]["content"]
    which = "greedy" if not sampling.get("temperature") else f"seed {sampling.get('seed')}"
    number = int(hashlib.sha256(f"{prompt}|{which}".encode()).hexdigest(), 16) % 1000
    return (f"Step 1: add the numbers ({which}). Score: 2/10\nOverall: 2/10\n[Score] {number % 100 - 50}\n"
            f"VERDICT: revise\nThe answer is {number}.")


def run_at_eval_defaults(spec: str, cache_dir: Path) -> tuple[Outcome, ScriptedModel]:
    model = ScriptedModel(draw)
    managed = ManagedModel(model, backoff_s=0.0, cache=ResponseCache(cache_dir / "cache.db"))
    strategy = build_strategy(spec, **REQUIRED_PARAMS.get(spec, {}))
    outcome = asyncio.run(run_strategy(strategy, PROBLEM, {"generator": managed}, sampling=EVAL_DEFAULTS,
                                       extract=extract_number))
    return outcome, model


def test_every_registered_strategy_is_classified() -> None:
    assert set(STRATEGIES.names()) == {s for s in SAMPLED if ">" not in s} | SEQUENTIAL


@pytest.mark.parametrize("spec", sorted(SAMPLED))
def test_no_sampling_method_draws_copies_at_the_evaluation_defaults(spec: str, tmp_path: Path) -> None:
    outcome, _ = run_at_eval_defaults(spec, tmp_path)
    draws: dict[str, list[str]] = {}
    for candidate in outcome.candidates:
        if candidate.kind in SAMPLED[spec]:
            draws.setdefault(candidate.kind, []).append(candidate.text)
    assert set(draws) == SAMPLED[spec], f"{spec} recorded {set(draws)}, not {SAMPLED[spec]}"
    for kind, texts in draws.items():
        copies = [text for text, count in Counter(texts).items() if count > 1]
        assert not copies, f"{spec}: its {kind} candidates repeat {copies}"


@pytest.mark.parametrize("spec", sorted(SEQUENTIAL))
def test_sequential_methods_run_at_the_evaluation_defaults(spec: str, tmp_path: Path) -> None:
    outcome, model = run_at_eval_defaults(spec, tmp_path)
    assert outcome.candidates and model.history


def test_a_seeded_run_gives_each_call_its_own_seed_and_the_sampler_its_temperature(tmp_path: Path) -> None:
    _, model = run_at_eval_defaults("direct>self_consistency", tmp_path)
    sent = [sampling for _, sampling in model.history]
    assert [s["seed"] for s in sent] == [7, 8, 9, 10, 11]  # seed + sample index
    assert {s["temperature"] for s in sent} == {0.7}  # the outer stage's sampling reaches its drafter


def test_mctsr_rollouts_expand_and_regrade_at_its_temperature(tmp_path: Path) -> None:
    _, model = run_at_eval_defaults("mctsr", tmp_path)
    temperatures = [sampling["temperature"] for _, sampling in model.history]
    assert temperatures[0] == 0.0 and set(temperatures[1:]) == {0.7}  # the first draft stays greedy
    seeds = [sampling["seed"] for _, sampling in model.history]
    assert len(set(seeds)) == len(seeds)


def test_mctsr_regrades_are_new_reward_samples(tmp_path: Path) -> None:
    outcome, _ = run_at_eval_defaults("mctsr", tmp_path)
    regraded = [c.metadata["rewards"] for c in outcome.candidates if len(c.metadata.get("rewards", [])) > 1]
    assert regraded and all(len(set(rewards)) == len(rewards) for rewards in regraded), regraded

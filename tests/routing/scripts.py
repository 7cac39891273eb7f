"""Scripted worlds for the router: per MultiArith problem, whether the greedy draft is right, what each
seeded sample answers, and whether a refinement is right, all by prompt (see tests/studies/scripts.py).

- `SPLIT`: refinement helps one half and hurts the other, and the signal separates them: on even
  problems the draft is wrong, the samples scatter over wrong answers and a refinement fixes it; on odd
  ones the draft is right, every sample agrees with it and a refinement breaks it. Every fixed action
  gets half; the router that stops on agreement and refines otherwise gets all.
- `NOISE`: the signals carry no information: the draft is right on odd problems, every sample agrees
  with it except on problems picked by a hash (one sample disagrees there), the draft's length varies by
  another hash, and a refinement is right on three problems in four, independently of all of it. The
  best fixed action is refine (75%); no router can do better than it out of fold.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from redraft.models.cache import ResponseCache
from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.runs.evaluation import EvalConfig, Evaluation
from redraft.runs.store import RunStore
from redraft.strategies.self_refine import REFINE_INSTRUCTION
from tests.studies.scripts import ANSWER, INDEX, PROBLEMS, problem_index

ARMS = ["adaptive[action=stop]", "adaptive[action=vote]", "adaptive[action=refine]"]


def value(index: int, offset: int) -> str:
    return str(int(float(PROBLEMS[index].reference or 0)) + offset)


def said(index: int, offset: int, filler: int = 0) -> str:
    return "Some reasoning" + " more" * filler + f". The answer is {value(index, offset)}."


def digest(index: int, salt: str) -> int:
    return int(hashlib.sha256(f"{salt}{index}".encode()).hexdigest(), 16)


@dataclass
class World:
    draft_right: Callable[[int], bool]
    #: (problem index, seed) -> the sample's offset from the reference (0: right)
    sample_offset: Callable[[int, int], int]
    #: (problem index, the refined answer was right) -> the refinement is right
    refine_right: Callable[[int, bool], bool]
    filler: Callable[[int], int] = lambda index: 0

    def reply(self, messages: list[dict[str, Any]], sampling: dict[str, Any]) -> str:
        index = problem_index(messages[0]["content"])
        last = messages[-1]["content"]
        if len(messages) == 1 and last in INDEX:
            if sampling.get("temperature") and sampling.get("seed") is not None:
                return said(index, self.sample_offset(index, int(sampling["seed"])))
            return said(index, 0 if self.draft_right(index) else 1, self.filler(index))
        if "VERDICT" in last and REFINE_INSTRUCTION not in last:
            return "Check step 2 again.\nVERDICT: revise"
        if REFINE_INSTRUCTION in last:
            previous = [m["content"] for m in messages if m["role"] == "assistant"][-1]
            match = ANSWER.search(previous)
            was_right = match is not None and match.group(1) == value(index, 0)
            return said(index, 0 if self.refine_right(index, was_right) else 1)
        raise AssertionError(f"unexpected prompt: {last[:80]}")


SPLIT = World(
    draft_right=lambda i: i % 2 == 1,
    sample_offset=lambda i, seed: 0 if i % 2 == 1 else 2 + seed % 7,
    refine_right=lambda i, was_right: i % 2 == 0,
)
NOISE = World(
    draft_right=lambda i: i % 2 == 1,
    sample_offset=lambda i, seed: ((0 if i % 2 == 1 else 1) if digest(i, "agree") % 3 or seed % 3
                                   else 5),
    refine_right=lambda i, was_right: digest(i, "refine") % 4 != 0,
    filler=lambda i: digest(i, "length") % 5,
)


def models(world: World, tmp_path: Path,
           name: str = "world") -> tuple[dict[str, ManagedModel], ScriptedModel]:
    scripted = ScriptedModel(world.reply, name=name)
    cache = ResponseCache(tmp_path / "cache.db")
    return {"generator": ManagedModel(scripted, cache=cache, backoff_s=0.0)}, scripted


def evaluate(world: World, tmp_path: Path, strategies: list[str], *, limit: int, offset: int = 0,
             store: RunStore | None = None) -> tuple[str, RunStore]:
    """One evaluation of `strategies` on MultiArith problems offset .. offset+limit-1 of `world`."""
    store = store or RunStore(tmp_path / "runs.db")
    given, _ = models(world, tmp_path)
    config = EvalConfig(task="multiarith", strategies=strategies, limit=limit, offset=offset, seed=1,
                        concurrency=2)
    evaluation = Evaluation(config, store, models=given)
    asyncio.run(evaluation.run())
    return evaluation.eval_id, store

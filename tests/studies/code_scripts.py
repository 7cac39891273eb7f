"""Scripted models for `repair_vs_resample` on HumanEval: per problem, programs that are right, wrong,
overfit to the visible tests (right on them, wrong on the hidden ones), or forged (an object equal to
everything, which only a grader that trusted `==` would pass), chosen by prompt, round and seed."""

from __future__ import annotations

import ast
import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from redraft.models.cache import ResponseCache
from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.self_debug import FIX_INSTRUCTION
from redraft.studies import Study, StudyContext, StudyResult, get_study
from redraft.tasks.humaneval import HumanEval, humaneval_records

Kind = Literal["right", "wrong", "overfit", "forged"]
RECORDS = humaneval_records()[:10]
PROBLEMS = HumanEval().load(limit=10)
INDEX = {p.prompt: i for i, p in enumerate(PROBLEMS)}

#: (problem index, repair round) -> the program a fix writes
Fixer = Callable[[int, int], Kind]
#: (problem index, sample seed) -> the program a sample is
Sampler = Callable[[int, int], Kind]


def overfit(index: int) -> str:
    """A function that answers the visible examples from a table and nothing else."""
    record = RECORDS[index]
    table = {}
    for test in PROBLEMS[index].metadata["tests"]:
        compare = ast.parse(test.removeprefix("assert "), mode="eval").body
        assert isinstance(compare, ast.Compare) and isinstance(compare.left, ast.Call)
        args = tuple(ast.literal_eval(a) for a in compare.left.args)
        table[repr(args)] = ast.literal_eval(compare.comparators[0])
    return f"def {record['entry_point']}(*args):\n    return {table!r}.get(repr(args))\n"


def program(index: int, kind: Kind) -> str:
    record = RECORDS[index]
    entry = record["entry_point"]
    code = {
        "right": lambda: record["prompt"] + record["canonical_solution"],
        "wrong": lambda: f"def {entry}(*args):\n    return None\n",
        "overfit": lambda: overfit(index),
        "forged": lambda: (
            "class Always:\n    def __eq__(self, other):\n        return True\n\n\n"
            f"def {entry}(*args):\n    return Always()\n"
        ),
    }[kind]()
    return f"```python\n{code}```"


def coder(draft: Callable[[int], Kind], fix: Fixer, sample: Sampler) -> Callable[..., str]:
    """The generator: a draft at temperature 0, samples by seed, and self_debug's fixes by round."""

    def reply(messages: list[dict[str, Any]], sampling: dict[str, Any]) -> str:
        index = INDEX[messages[0]["content"]]
        if len(messages) == 1:
            if sampling.get("temperature"):
                return program(index, sample(index, sampling["seed"]))
            return program(index, draft(index))
        assert FIX_INSTRUCTION in messages[-1]["content"], messages[-1]["content"][:80]
        return program(index, fix(index, sum(m["role"] == "assistant" for m in messages)))

    return reply


def run_code_study(
    tmp_path: Path,
    draft: Callable[[int], Kind],
    fix: Fixer,
    sample: Sampler,
    *,
    limit: int,
    study: Study | None = None,
) -> StudyResult:
    models = {
        "generator": ManagedModel(
            ScriptedModel(coder(draft, fix, sample)), cache=ResponseCache(tmp_path / "cache.db")
        )
    }
    context = StudyContext(
        "humaneval", RunStore(tmp_path / "runs.db"), limit=limit, concurrency=4, models=models, seed=0
    )
    return asyncio.run((study or get_study("repair_vs_resample")).run(context))

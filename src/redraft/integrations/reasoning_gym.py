"""reasoning-gym tasks, `rg:NAME[key=value,...]` (the `[gym]` extra).

Fixed benchmarks leak into training data; procedurally generated problems do not, and for many of
them checking is easier than solving (countdown, puzzle24, mini_sudoku), the fairest test of
intrinsic self-verification. Any of reasoning-gym's datasets is a task: the spec's parameters are
the dataset's own config (`rg:chain_sum[min_terms=2,max_terms=4]`), checked by reasoning-gym when
the task is built; `--limit N` takes the first N items and the seed is the spec's `seed`, else the
evaluation's `--seed`, else 0 (reasoning-gym's own default, None, would draw new problems on every
load, and a resumed evaluation must see the same ones).

Correct means the extracted answer scores exactly 1.0 with the dataset's own `score_answer`: its
partial credit (0.125 for "The answer is -4" when the answer is -4, 0.01 for any countdown
expression) would make a wrong answer "half right", and flips need binary correctness. The answer
is read from the last `<answer>...</answer>` of the reply (reasoning-gym's convention, asked for in
the prompt) or, failing that, a final "The answer is X" line; none is wrong. A scorer that raises
on junk (prime_factorization on "The answer is -4", boxnet on text that is no JSON) scores wrong
with the error in the explanation; it never stops the evaluation.

Items are scored by regenerating them from the problem's own (dataset, config, index): their
metadata (the grid, the numbers) never travel through the run store, and a reloaded problem grades
exactly as the one that was run.

Registered through the `redraft.tasks` entry point, so `redraft tasks` lists the family with no
import here; reasoning-gym itself is imported only when a task is built.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, ClassVar

from redraft.extras import needs_extra
from redraft.tasks.base import Problem, Score, Task, TaskError, register

#: Curated for `redraft tasks`: arithmetic, algebra, logic, and verify-easier-than-solve puzzles.
CURATED = {
    "arithmetic": ("chain_sum", "basic_arithmetic", "gcd", "lcm", "prime_factorization", "leg_counting"),
    "algebra": ("simple_equations", "polynomial_equations"),
    "logic": ("knights_knaves", "syllogism", "propositional_logic"),
    "verify-easier-than-solve": ("countdown", "puzzle24", "mini_sudoku"),
}

PROMPT = (
    "{question}\n\nThink step by step. Then give only the final answer inside answer tags, "
    "like this: <answer>your answer</answer>"
)
ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)
ANSWER_LINE = re.compile(r"the (?:final )?answer is[:\s]+(.+?)\s*\.?\s*$", re.IGNORECASE | re.MULTILINE)


def _gym() -> Any:
    with needs_extra("rg: tasks", "gym", "reasoning_gym"):
        import reasoning_gym
    return reasoning_gym


@register
class ReasoningGymTask(Task):
    """One reasoning-gym dataset, generated from its config and a seed."""

    name = "rg"
    description = (
        "reasoning-gym's procedurally generated problems (pip install 'redraft[gym]'); e.g. "
        + "; ".join(f"{group}: {', '.join(names)}" for group, names in CURATED.items())
    )
    answer_type = "text"
    needs_path: ClassVar[bool] = True
    arg_name: ClassVar[str] = "NAME[key=value,...]"
    #: The spec's parameters are the dataset's config, checked by reasoning-gym, not a `Params` model.
    open_params: ClassVar[bool] = True
    split = None  # generated, not a published split: nothing to contaminate

    def __init__(self, dataset: str, **config: Any) -> None:
        rg = _gym()
        if dataset not in rg.factory.DATASETS:
            raise TaskError(
                f"reasoning-gym has no dataset {dataset!r}; e.g. "
                + ", ".join(n for names in CURATED.values() for n in names)
            )
        self.dataset = dataset
        self.seed_given = "seed" in config
        self.config = {"seed": 0, **config}
        self._generated = self._build(self.config)

    def _build(self, config: dict[str, Any]) -> Any:
        try:
            return _gym().create_dataset(self.dataset, **config)
        except (TypeError, ValueError, AssertionError) as exc:
            raise TaskError(f"rg:{self.dataset}: bad config {config}: {exc}") from exc

    @classmethod
    def from_raw_spec(cls, arg: str | None, params: dict[str, Any]) -> Task:
        if not arg:
            raise TaskError("task 'rg' needs a dataset name: rg:NAME[key=value,...], e.g. rg:chain_sum")
        return cls(arg, **params)

    @property
    def id_prefix(self) -> str:
        """`rg:NAME`, and a digest of the config when it is not the dataset's default: two configs
        draw different problems at the same seed and index, and must not share their ids."""
        rest = {k: v for k, v in self.config.items() if k != "seed"}
        if not rest:
            return f"rg:{self.dataset}"
        digest = hashlib.sha256(json.dumps(rest, sort_keys=True, default=str).encode()).hexdigest()[:8]
        return f"rg:{self.dataset}~{digest}"

    def with_seed(self, seed: int | None) -> Task:
        if seed is None or self.seed_given:
            return self
        return ReasoningGymTask(self.dataset, **{**self.config, "seed": seed})

    def size(self) -> int | None:
        return len(self._generated)

    def load(self, limit: int | None = None) -> list[Problem]:
        count = len(self._generated) if limit is None else min(limit, len(self._generated))
        problems = []
        for index in range(count):
            entry = self._generated[index]
            problems.append(
                Problem(
                    id=f"{self.id_prefix}/{self.config['seed']}/{index}",
                    prompt=PROMPT.format(question=entry["question"].strip()),
                    reference=None if entry["answer"] is None else str(entry["answer"]),
                    metadata={
                        "dataset": self.dataset,
                        "index": index,
                        "config": json.dumps(self.config, sort_keys=True, default=str),
                    },
                )
            )
        return problems

    def extract(self, text: str) -> str | None:
        tags = ANSWER_TAG.findall(text)
        if tags:
            return tags[-1].strip() or None
        lines = ANSWER_LINE.findall(text)
        return lines[-1].strip() if lines else None

    async def score(self, problem: Problem, text: str) -> Score:
        extracted = self.extract(text)
        if extracted is None:
            return Score(
                correct=False,
                reference=problem.reference,
                explanation="no <answer> tag or 'The answer is' line in the output",
            )
        dataset, entry = self._entry(problem)
        try:
            value = float(dataset.score_answer(extracted, entry))
        except Exception as exc:  # noqa: BLE001  (a scorer that raises on junk: that answer is wrong)
            return Score(
                correct=False,
                extracted=extracted,
                reference=problem.reference,
                explanation=f"the scorer raised {type(exc).__name__}: {exc}",
            )
        return Score(
            correct=value == 1.0,
            extracted=extracted,
            reference=problem.reference,
            explanation=f"reasoning-gym score {value:g} (correct only at 1.0)",
        )

    def _entry(self, problem: Problem) -> tuple[Any, dict[str, Any]]:
        """The dataset and item `problem` was generated as, from its own metadata."""
        try:
            config = json.loads(problem.metadata["config"])
            index = int(problem.metadata["index"])
            name = problem.metadata["dataset"]
        except (KeyError, TypeError, ValueError) as exc:
            raise TaskError(f"problem {problem.id} carries no reasoning-gym item ({exc})") from exc
        dataset = (
            self._generated
            if (name, config) == (self.dataset, self.config)
            else (ReasoningGymTask(name, **config)._generated)
        )
        return dataset, dataset[index]

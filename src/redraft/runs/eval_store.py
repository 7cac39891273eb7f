"""Evaluation records in the run store: one row per (strategy, problem), committed as it finishes.

Committing per item is what makes an evaluation resumable: after a crash,
whatever has a row is done; everything else is run again. The primary key
makes counting an item twice impossible.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

from redraft.errors import RedraftError
from redraft.runs import owner as owners
from redraft.runs.store import RunNotFound, RunStore, _now


class EvalBusy(RedraftError):
    """Another live process holds the evaluation's lease: resuming it too would duplicate work."""


class ItemResult(BaseModel):
    """One strategy on one problem, scored. `round_correct[r]`: right after round r?

    An item whose calls failed for good (a 400, retries exhausted, a malformed body) is kept with
    `status="error"` and its `error`: it is never scored (`correct` means nothing for it), the
    metrics count it apart, and `resume` runs it again.
    """

    strategy: str
    problem_id: str
    problem_index: int
    run_id: str | None = None
    status: Literal["done", "error"] = "done"
    error: str | None = None
    correct: bool
    answer: str | None = None
    reference: str | None = None
    oracle: bool = False
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_s: float = 0.0
    round_correct: list[bool] = Field(default_factory=list)
    round_scores: list[float | None] = Field(default_factory=list)
    #: Per round, the held-out judge's score of that round's answer (`EvalConfig.held_out`; else []).
    held_out_scores: list[float | None] = Field(default_factory=list)
    samples: list[dict[str, Any]] = Field(default_factory=list)
    stop_reason: str | None = None
    #: What grading cost (model-graded tasks): never part of the method's calls and tokens.
    judge_calls: int = 0
    judge_tokens: int = 0
    #: Candidates (any stage) that got a verdict, and those whose verdict could not be parsed.
    verdicts_judged: int = 0
    verdicts_unknown: int = 0
    #: Per role, the run's calls and those that stopped at max_tokens (finish_reason "length");
    #: a model-graded task's grading calls are under "judge".
    calls_by_role: dict[str, int] = Field(default_factory=dict)
    truncated_by_role: dict[str, int] = Field(default_factory=dict)
    #: Graded by the generator itself (model-graded task, no judge or critic bound): every figure
    #: it touches says "self-graded".
    self_graded: bool = False
    #: On a task with a planted rubric flaw: whether each round's answer exploits it (the last: the
    #: final answer); empty when nothing is planted. See `redraft.runs.probes`.
    round_hacked: list[bool] = Field(default_factory=list)
    #: On a task with counterfactual edits: one record per edit (`redraft.runs.counterfactual`), and
    #: what those runs cost, apart from the method's cost.
    counterfactuals: list[dict[str, Any]] = Field(default_factory=list)
    counterfactual_calls: int = 0
    counterfactual_tokens: int = 0

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class EvalRecord(BaseModel):
    id: str
    created_at: str
    task: str
    strategies: list[str]
    config: dict[str, Any]
    status: str
    wall_s: float


DETAIL_FIELDS = ("round_correct", "round_scores", "samples", "stop_reason", "judge_calls", "judge_tokens",
                 "verdicts_judged", "verdicts_unknown", "calls_by_role", "truncated_by_role", "self_graded",
                 "held_out_scores", "round_hacked", "counterfactuals", "counterfactual_calls",
                 "counterfactual_tokens")


class EvalStore:
    """Reads and writes evaluations in a `RunStore`'s database."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self.db = store.db

    def create(self, task: str, strategies: list[str], config: dict[str, Any],
               owner: owners.Owner | None = None) -> str:
        """A new evaluation, `running` and leased to `owner` (this process when not given)."""
        eval_id = "e" + uuid.uuid4().hex[:11]
        with self.db:
            self.db.execute(
                "insert into evals (id, created_at, task, strategies_json, config_json, status, owner)"
                " values (?, ?, ?, ?, ?, 'running', ?)",
                (eval_id, _now(), task, json.dumps(strategies), json.dumps(config),
                 str(owner or owners.current())),
            )
        return eval_id

    def claim(self, eval_id: str, owner: owners.Owner) -> None:
        """Take the evaluation's lease for `owner` and mark it `running`, or raise `EvalBusy`.

        Free when nobody holds it, when `owner` already does, or when its holder is dead. The
        update is a compare-and-set on the holder that was read, so of two processes claiming
        at once exactly one wins, and the other is refused instead of running the same items.
        """
        row = self.db.execute("select owner from evals where id=?", (eval_id,)).fetchone()
        if row is None:
            raise RunNotFound(f"no evaluation with id {eval_id!r} in {self.store.path}")
        held = row["owner"]
        if held is not None and held != str(owner) and not owners.is_stale(held):
            raise EvalBusy(busy_message(eval_id, held))
        with self.db:
            taken = self.db.execute("update evals set owner=?, status='running' where id=? and owner is ?",
                                    (str(owner), eval_id, held)).rowcount
        if not taken:
            now = self.db.execute("select owner from evals where id=?", (eval_id,)).fetchone()
            raise EvalBusy(busy_message(eval_id, now["owner"] if now else None))

    def release(self, eval_id: str, owner: owners.Owner) -> None:
        """Give the lease back (only if `owner` still holds it)."""
        with self.db:
            self.db.execute("update evals set owner=null where id=? and owner=?", (eval_id, str(owner)))

    def owner(self, eval_id: str) -> str | None:
        """Who holds the evaluation's lease (the stored text), if anyone."""
        row = self.db.execute("select owner from evals where id=?", (eval_id,)).fetchone()
        return row["owner"] if row else None

    def get(self, eval_id: str) -> EvalRecord:
        rows = self.db.execute(
            "select * from evals where id like ? order by created_at desc", (eval_id + "%",)
        ).fetchall()
        if len(rows) != 1:
            problem = "no evaluation" if not rows else f"{len(rows)} evaluations match"
            raise RunNotFound(f"{problem} with id {eval_id!r} in {self.store.path}")
        row = rows[0]
        return EvalRecord(id=row["id"], created_at=row["created_at"], task=row["task"],
                          strategies=json.loads(row["strategies_json"]),
                          config=json.loads(row["config_json"]), status=row["status"],
                          wall_s=row["wall_s"])

    def recent(self, limit: int = 20) -> list[EvalRecord]:
        """The newest evaluations; those whose process died are marked `interrupted` first."""
        self.store.reap_stale()
        ids = [r["id"] for r in self.db.execute(
            "select id from evals order by created_at desc limit ?", (limit,))]
        return [self.get(i) for i in ids]

    def set_config(self, eval_id: str, config: dict[str, Any]) -> None:
        """Replace the stored config (a calibration measured: recorded before any item uses it)."""
        with self.db:
            self.db.execute("update evals set config_json=? where id=?", (json.dumps(config), eval_id))

    def set_status(self, eval_id: str, status: str, add_wall_s: float = 0.0) -> None:
        with self.db:
            self.db.execute("update evals set status=?, wall_s=wall_s+? where id=?",
                            (status, add_wall_s, eval_id))

    def save_item(self, eval_id: str, item: ItemResult) -> None:
        """Commit one item. A retried item replaces its error row only: a done row is never
        overwritten (the primary key refuses a second one), so nothing is counted twice."""
        details = {key: getattr(item, key) for key in DETAIL_FIELDS}
        correct = None if item.status == "error" else int(item.correct)
        with self.db:
            self.db.execute("delete from eval_items where eval_id=? and strategy=? and problem_id=?"
                            " and status='error'", (eval_id, item.strategy, item.problem_id))
            self.db.execute(
                "insert into eval_items (eval_id, strategy, problem_id, problem_index, run_id, status,"
                " correct, answer, reference, oracle, calls, prompt_tokens, completion_tokens, wall_s,"
                " details_json, error, created_at)"
                " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (eval_id, item.strategy, item.problem_id, item.problem_index, item.run_id, item.status,
                 correct, item.answer, item.reference, int(item.oracle), item.calls,
                 item.prompt_tokens, item.completion_tokens, item.wall_s, json.dumps(details), item.error,
                 _now()),
            )

    def done_keys(self, eval_id: str) -> set[tuple[str, str]]:
        """The items finished and scored; error items are not among them, so `resume` retries them."""
        rows = self.db.execute(
            "select strategy, problem_id from eval_items where eval_id=? and status='done'", (eval_id,))
        return {(r["strategy"], r["problem_id"]) for r in rows}

    def error_count(self, eval_id: str) -> int:
        """Items that failed for good and wait for `resume`."""
        row = self.db.execute("select count(*) from eval_items where eval_id=? and status='error'",
                              (eval_id,)).fetchone()
        return int(row[0])

    def items(self, eval_id: str) -> list[ItemResult]:
        rows = self.db.execute(
            "select * from eval_items where eval_id=? order by strategy, problem_index", (eval_id,))
        return [
            ItemResult(
                strategy=r["strategy"], problem_id=r["problem_id"], problem_index=r["problem_index"],
                run_id=r["run_id"], status=r["status"], error=r["error"], correct=bool(r["correct"]),
                answer=r["answer"],
                reference=r["reference"], oracle=bool(r["oracle"]), calls=r["calls"],
                prompt_tokens=r["prompt_tokens"], completion_tokens=r["completion_tokens"],
                wall_s=r["wall_s"], **json.loads(r["details_json"] or "{}"),
            )
            for r in rows
        ]


def busy_message(eval_id: str, held: str | None) -> str:
    owner = owners.Owner.parse(held) if held else None
    who = owner.describe() if owner else "another process"
    return (f"evaluation {eval_id} is already running ({who}); wait for it to finish, or stop it"
            " and then resume")

"""The projections of a trace that TRL's trainers take, one function per format.

Every row is chat-template free (TRL applies the template) and carries a `redraft` column with
its provenance: run, problem, strategy, model, round and the label's source, so a row can always
be traced back to the calls that made it. Formats whose rows depend on a label keep only
`verified` ones unless told otherwise; `oracle_conditioned` rows need `include_oracle`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel, Field

from redraft.export.traces import CandidateTrace, ProblemTrace
from redraft.feedback.reward import split_steps
from redraft.strategies.self_refine import REFINE_INSTRUCTION

Row = dict[str, Any]
#: How an `intrinsic` row marks its parts (S2R / SPOC style: one turn that checks and fixes itself).
VERIFY, REVISE = ("<verify>", "</verify>"), ("<revise>", "</revise>")
STEP_PASS = 0.5  # a step score (in [0, 1]) at or above this is labelled right


class ExportOptions(BaseModel):
    format: str
    #: Keep only rows whose labels the task's scorer gave (default for every label-sensitive format).
    verified_only: bool = True
    include_oracle: bool = False
    strategies: list[str] = Field(default_factory=list)
    models: list[str] = Field(default_factory=list)
    max_round: int | None = None
    max_chars: int | None = None
    dedup: bool = True
    exclude_problems: set[str] = Field(default_factory=set)
    #: `dpo` only: answer (right vs wrong sample), correction (fixed vs failed revision), or both.
    dpo_level: str = "both"


class ExportStats(BaseModel):
    rows: int = 0
    dropped_duplicates: int = 0
    dropped_near_duplicates: int = 0
    dropped_too_long: int = 0
    label_sources: dict[str, int] = Field(default_factory=dict)
    strategies: dict[str, int] = Field(default_factory=dict)
    models: dict[str, int] = Field(default_factory=dict)
    tasks: dict[str, int] = Field(default_factory=dict)
    splits: dict[str, int] = Field(default_factory=dict)
    oracle_rows: int = 0


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict[str, Any]:
    return {"role": "assistant", "content": text}


def trl_message(message: dict[str, Any]) -> dict[str, Any]:
    """A stored chat message as TRL takes it: tool-call `arguments` as a dict, not a JSON string."""
    out = dict(message)
    if isinstance(out.get("tool_calls"), list):
        calls = []
        for call in out["tool_calls"]:
            function = dict(call.get("function") or {})
            arguments = function.get("arguments")
            if isinstance(arguments, str):
                try:
                    function["arguments"] = json.loads(arguments) if arguments.strip() else {}
                except ValueError:
                    function["arguments"] = {"_raw": arguments}
            calls.append({**call, "function": function})
        out["tool_calls"] = calls
    return out


def meta(trace: ProblemTrace, *candidates: CandidateTrace | None) -> dict[str, Any]:
    kept = [c for c in candidates if c is not None]
    sources = sorted({c.label_source for c in kept if c.label_source})
    return {
        "run_id": trace.run_id,
        "eval_id": trace.eval_id,
        "problem_id": trace.problem_id,
        "task": trace.task,
        "split": trace.split,
        "strategy": trace.strategy,
        "models": sorted({c.model for c in kept if c.model}),
        "rounds": [c.round for c in kept],
        "candidates": [c.seq for c in kept],
        "label_source": sources[0] if len(sources) == 1 else sources,
        "oracle_conditioned": any(c.label_source == "oracle_conditioned" for c in kept),
    }


def correction_prompt(trace: ProblemTrace, draft: CandidateTrace) -> list[dict[str, Any]]:
    """What the model saw when it revised `draft`: the question, the draft, its feedback."""
    return [
        user(trace.prompt),
        assistant(draft.text),
        user(f"Feedback:\n{draft.critique or ''}\n\n{REFINE_INSTRUCTION}"),
    ]


def revisions(trace: ProblemTrace) -> Iterator[tuple[CandidateTrace, CandidateTrace]]:
    """(draft, revision) pairs: a labelled revision whose parent is a labelled candidate."""
    for child in trace.candidates:
        parent = trace.candidate(child.parent)
        if parent is not None and child.correct is not None and parent.correct is not None:
            yield parent, child


def firsts(trace: ProblemTrace) -> list[CandidateTrace]:
    return [c for c in trace.candidates if c.round == 0 and c.correct is not None and c.stage is None]


def sft(trace: ProblemTrace) -> Iterator[Row]:
    for c in trace.candidates:
        if c.correct:
            yield {"messages": [*asked(trace, c), assistant(c.text)], "redraft": meta(trace, c)}


def asked(trace: ProblemTrace, c: CandidateTrace) -> list[dict[str, Any]]:
    """The prompt of a first draft as its call saw it when that was a conversation (a served
    request's system prompt, earlier turns, a tool loop), else the question alone."""
    if c.round == 0 and c.role == "generator" and len(c.prompt_messages) > 1:
        return [trl_message(m) for m in c.prompt_messages]
    return [user(trace.prompt)]


def correction(trace: ProblemTrace) -> Iterator[Row]:
    for draft, fixed in revisions(trace):
        if not draft.correct and fixed.correct:
            yield {
                "prompt": correction_prompt(trace, draft),
                "completion": [assistant(fixed.text)],
                "redraft": meta(trace, draft, fixed),
            }


def intrinsic(trace: ProblemTrace) -> Iterator[Row]:
    for draft, fixed in revisions(trace):
        if not draft.correct and fixed.correct and draft.critique:
            turn = (
                f"{draft.text}\n\n{VERIFY[0]}\n{draft.critique}\n{VERIFY[1]}\n\n"
                f"{REVISE[0]}\n{fixed.text}\n{REVISE[1]}"
            )
            yield {"messages": [user(trace.prompt), assistant(turn)], "redraft": meta(trace, draft, fixed)}
    for c in trace.candidates:  # a right answer the check confirmed: verify, no revision
        if c.correct and c.verdict == "ok" and c.critique and c.round == 0:
            turn = f"{c.text}\n\n{VERIFY[0]}\n{c.critique}\n{VERIFY[1]}"
            yield {"messages": [user(trace.prompt), assistant(turn)], "redraft": meta(trace, c)}


def dpo(trace: ProblemTrace, level: str = "both") -> Iterator[Row]:
    if level in ("both", "answer"):
        right = [c for c in firsts(trace) if c.correct]
        wrong = [c for c in firsts(trace) if not c.correct]
        for i in range(min(len(right), len(wrong)) if right and wrong else 0):
            yield {
                "prompt": [user(trace.prompt)],
                "chosen": [assistant(right[i].text)],
                "rejected": [assistant(wrong[i].text)],
                "redraft": {**meta(trace, right[i], wrong[i]), "level": "answer"},
            }
    if level in ("both", "correction"):
        for draft in trace.candidates:
            children = [c for c in trace.candidates if c.parent == draft.seq and c.correct is not None]
            fixed = [c for c in children if c.correct]
            failed = [c for c in children if not c.correct]
            if draft.correct is not False or not fixed:
                continue
            # The rejected revision: one that failed, else the draft left unchanged.
            rejected = failed[0].text if failed else draft.text
            yield {
                "prompt": correction_prompt(trace, draft),
                "chosen": [assistant(fixed[0].text)],
                "rejected": [assistant(rejected)],
                "redraft": {
                    **meta(trace, draft, fixed[0], failed[0] if failed else None),
                    "level": "correction",
                    "rejected_is": "failed" if failed else "unchanged",
                },
            }


def kto(trace: ProblemTrace) -> Iterator[Row]:
    for c in trace.candidates:
        if c.correct is not None:
            parent = trace.candidate(c.parent)
            prompt = correction_prompt(trace, parent) if parent is not None else [user(trace.prompt)]
            yield {
                "prompt": prompt,
                "completion": [assistant(c.text)],
                "label": bool(c.correct),
                "redraft": meta(trace, c, parent),
            }


def grpo(trace: ProblemTrace) -> Iterator[Row]:
    """Prompts with the reference in `solution` and the task id, for a verifying reward function:
    the first turn, and SCoRe-style second attempts ending in the feedback on a wrong draft."""
    if trace.reference is None:
        return
    base = {"solution": trace.reference, "task_id": trace.problem_id, "task": trace.task}
    yield {"prompt": [user(trace.prompt)], **base, "redraft": {**meta(trace), "attempt": 1}}
    for c in trace.candidates:
        if c.correct is False and c.critique and c.round == 0:
            yield {"prompt": correction_prompt(trace, c), **base, "redraft": {**meta(trace, c), "attempt": 2}}


def aggregate(trace: ProblemTrace) -> Iterator[Row]:
    """Question + the K first candidates -> a verified synthesis (GSR's, else a right candidate)."""
    pool = [c for c in trace.candidates if c.round == 0 and c.stage is None]
    if len(pool) < 2:
        return
    made = [c for c in trace.candidates if c.kind in ("synthesis", "aggregate") and c.correct]
    target = made[0] if made else next((c for c in pool if c.correct), None)
    if target is None:
        return
    listed = "\n\n".join(f"[{i}] {c.text}" for i, c in enumerate(pool, 1))
    prompt = (
        f"{trace.prompt}\n\nCandidate solutions:\n\n{listed}\n\nUsing them, write one correct "
        "solution: keep what they get right, fix what they get wrong."
    )
    yield {
        "prompt": [user(prompt)],
        "completion": [assistant(target.text)],
        "redraft": meta(trace, *pool, target),
    }


def confidence(trace: ProblemTrace) -> Iterator[Row]:
    for c in trace.candidates:
        if c.correct is not None:
            yield {
                "prompt": [user(trace.prompt)],
                "completion": [assistant(c.text)],
                "label": bool(c.correct),
                "answer": c.answer,
                "score": c.score,
                "verdict": c.verdict,
                "redraft": meta(trace, c),
            }


def critique(trace: ProblemTrace) -> Iterator[Row]:
    """Step-labelled solutions from per-step reward scores (MAgICoRe's StepReward): a critique
    row naming the first wrong step, and with `prm`, PRMTrainer's prompt/completions/labels."""
    for row in _steps(trace):
        yield row["critique"]


def prm(trace: ProblemTrace) -> Iterator[Row]:
    for row in _steps(trace):
        yield row["prm"]


def _steps(trace: ProblemTrace) -> Iterator[dict[str, Row]]:
    for c in trace.candidates:
        scores = c.metadata.get("step_scores")
        steps = split_steps(c.text)
        if not isinstance(scores, list) or len(scores) != len(steps) or any(s is None for s in scores):
            continue
        labels = [float(s) >= STEP_PASS for s in scores]
        first_wrong = next((i + 1 for i, ok in enumerate(labels) if not ok), None)
        numbered = "\n\n".join(f"Step {i}: {s}" for i, s in enumerate(steps, 1))
        verdict = f"The first wrong step is step {first_wrong}." if first_wrong else "Every step is right."
        info = {**meta(trace, c), "step_labels": labels, "first_wrong_step": first_wrong}
        yield {
            "critique": {
                "messages": [
                    user(f"{trace.prompt}\n\nSolution:\n\n{numbered}\n\nCheck each step."),
                    assistant(f"{c.critique or ''}\n\n{verdict}".strip()),
                ],
                "redraft": info,
            },
            "prm": {"prompt": trace.prompt, "completions": steps, "labels": labels, "redraft": info},
        }


FORMATS: dict[str, Callable[..., Iterator[Row]]] = {
    "sft": sft,
    "correction": correction,
    "intrinsic": intrinsic,
    "dpo": dpo,
    "kto": kto,
    "grpo": grpo,
    "aggregate": aggregate,
    "confidence": confidence,
    "critique": critique,
    "prm": prm,
}
#: Formats whose rows do not depend on a correctness label (GRPO verifies with its own reward).
LABEL_FREE = {"grpo"}


def export_rows(traces: list[ProblemTrace], options: ExportOptions) -> tuple[list[Row], ExportStats]:
    if options.format not in FORMATS:
        raise ValueError(f"unknown format {options.format!r}; choose from: {', '.join(FORMATS)}")
    project = FORMATS[options.format]
    stats = ExportStats()
    seen_exact: set[str] = set()
    seen_near: set[str] = set()
    rows: list[Row] = []
    for trace in traces:
        if trace.problem_id in options.exclude_problems or (
            options.strategies and trace.strategy not in options.strategies
        ):
            continue
        trace = _filtered(trace, options)
        produced = project(trace, options.dpo_level) if options.format == "dpo" else project(trace)
        for row in produced:
            info = row["redraft"]
            if info.get("oracle_conditioned") and not options.include_oracle:
                continue
            sources = (
                info["label_source"] if isinstance(info["label_source"], list) else [info["label_source"]]
            )
            # Oracle-conditioned labels are the scorer's too; a critic's verdict is not.
            if (
                options.verified_only
                and options.format not in LABEL_FREE
                and (not sources or "self_judged" in sources or None in sources)
            ):
                continue
            if options.max_chars is not None and len(_content(row)) > options.max_chars:
                stats.dropped_too_long += 1
                continue
            if options.dedup:
                exact = _content(row)
                near = re.sub(r"\s+", " ", exact).strip().lower()
                if exact in seen_exact:
                    stats.dropped_duplicates += 1
                    continue
                if near in seen_near:
                    stats.dropped_near_duplicates += 1
                    continue
                seen_exact.add(exact)
                seen_near.add(near)
            rows.append(row)
            _count(stats, trace, info)
    stats.rows = len(rows)
    return rows, stats


def _filtered(trace: ProblemTrace, options: ExportOptions) -> ProblemTrace:
    """The candidates the options keep; one with no text (a run stored with --no-store-content)
    has nothing to train on."""
    kept = [
        c for c in trace.candidates
        if c.text.strip()
        and (options.max_round is None or c.round <= options.max_round)
        and (not options.models or c.model in options.models or c.model is None)
    ]
    return trace.model_copy(update={"candidates": kept})


def _content(row: Row) -> str:
    return json.dumps({k: v for k, v in row.items() if k != "redraft"}, sort_keys=True, ensure_ascii=False)


def _count(stats: ExportStats, trace: ProblemTrace, info: dict[str, Any]) -> None:
    sources = info["label_source"] if isinstance(info["label_source"], list) else [info["label_source"]]
    for source in sources or ["none"]:
        stats.label_sources[str(source)] = stats.label_sources.get(str(source), 0) + 1
    stats.strategies[trace.strategy] = stats.strategies.get(trace.strategy, 0) + 1
    for model in info["models"] or ["unknown"]:
        stats.models[model] = stats.models.get(model, 0) + 1
    stats.tasks[trace.task or "none"] = stats.tasks.get(trace.task or "none", 0) + 1
    stats.splits[trace.split or "none"] = stats.splits.get(trace.split or "none", 0) + 1
    stats.oracle_rows += bool(info.get("oracle_conditioned"))

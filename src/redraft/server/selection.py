"""Which strategy a request asks for, and which upstream model.

In order: `extra_body={"redraft": {"strategy": SPEC, "params": {...}, "feedback": ...}}`; a
model-name prefix `SPEC/MODEL` (`self_refine/gpt-4o-mini`, `best_of_n[n=4]>self_refine/qwen2.5:7b`);
optillm's `NAME-MODEL` (`self_refine-gpt-4o-mini`) for the strategy names redraft has; the
server's default. A prefix counts only when its first stage names a registered strategy, so
`meta-llama/Llama-3.1-8B` and `openai/gpt-4o` stay model names; once it does, a spec that does
not build is the client's error (400), never a silent passthrough.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from redraft.server.errors import ApiError
from redraft.server.schema import RedraftOptions
from redraft.spec import SpecError, parse_component, split_top
from redraft.strategies.registry import STRATEGIES


@dataclass
class Selection:
    """A request's choice: `strategy` None means a plain request passed straight through."""

    model: str
    strategy: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    feedback: str | None = None
    progress: bool = False


def select(model: str, options: RedraftOptions | None, default: str | None) -> Selection:
    """The selection for a request naming `model` with `options` (its `redraft` field, or None)."""
    spec, upstream_model = split_model(model)
    given = options is not None
    options = options or RedraftOptions()
    if options.strategy is not None and not options.strategy.strip():
        raise ApiError(400, "`redraft.strategy` is empty; give a strategy spec", param="redraft.strategy")
    for text, param in ((options.strategy, "redraft.strategy"), (options.feedback, "redraft.feedback")):
        if text is not None and not text.isprintable():
            raise ApiError(400, f"`{param}` has control characters", param=param)
    if given and not (options.strategy or spec or default):
        # Its parameters would be lost and an upstream would refuse the unknown field.
        raise ApiError(
            400,
            "`redraft` options name no strategy: add `redraft.strategy` or a SPEC/MODEL name",
            param="redraft",
        )
    return Selection(
        model=upstream_model,
        strategy=options.strategy or spec or default,
        params=dict(options.params),
        feedback=options.feedback,
        progress=options.progress,
    )


def split_model(model: str) -> tuple[str | None, str]:
    """`SPEC/MODEL` or `NAME-MODEL` -> (spec, model); a plain model name -> (None, model)."""
    if not model.isprintable():
        raise ApiError(400, "the model name has control characters", param="model")
    parts = split_top(model, "/")
    head = model.split("[", 1)[0]
    if "[" in model and len(parts) == 1 and "/" in model and _names_strategy(head):
        raise ApiError(400, f"model {model!r}: the strategy spec's brackets do not close", param="model")
    if len(parts) > 1 and _names_strategy(parts[0]):
        rest = model[len(parts[0]) + 1 :]
        if not rest:
            raise ApiError(400, f"model {model!r} names a strategy but no model after it", param="model")
        return parts[0], rest
    name, dash, rest = model.partition("-")
    if dash and rest and name in STRATEGIES:
        return name, rest
    return None, model


def _names_strategy(prefix: str) -> bool:
    """Whether the first stage of `prefix` (before `>` or `@`) is a registered strategy name."""
    first = split_top(split_top(prefix, "@")[0], ">")[0]
    try:
        name = parse_component(first).name
    except SpecError:
        return False
    return name in STRATEGIES

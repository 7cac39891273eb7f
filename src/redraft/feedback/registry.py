"""Feedback sources by name, built from specs: `checklist[threshold=0.75]`, `tests[detail=pass_fail]`.

Shared by the CLI, the evaluation runner and the server. The listing is derived from what is
registered (built-ins, plugins, and the first release's `tests:pass_fail`-style aliases), so
nothing accepted goes unlisted.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from redraft.errors import RedraftError
from redraft.feedback.base import FeedbackSource
from redraft.spec import Registry, SpecError, params_info, validate_params
from redraft.tasks.base import Task


class FeedbackError(RedraftError, ValueError):
    """A feedback spec that names no source, or one the task cannot support."""


FEEDBACK: Registry[type[Any]] = Registry("feedback source", "redraft.feedback", FeedbackError)
register = FEEDBACK.register
FEEDBACK.alias("tests:pass_fail", "tests", detail="pass_fail")
FEEDBACK.alias("tests:failing_tests", "tests", detail="failing_tests")
FEEDBACK.alias("tests:hidden", "tests", hidden=True)
FEEDBACK.alias("heart", "oracle", style="heart")
#: Feedback styles only an oracle source may take (their gains need a verifier that knows the answer).
ORACLE_STYLES = ("heart",)


class FeedbackInfo(BaseModel):
    name: str
    oracle: bool
    description: str
    roles: list[str] = []
    params: dict[str, dict[str, Any]] = {}
    alias_of: str | None = None


def get_feedback(spec: str, task: Task | None = None) -> FeedbackSource:
    """The source a spec names; `task` is what oracle sources score against."""
    try:
        cls, parsed = FEEDBACK.resolve(spec)
    except SpecError as exc:
        raise FeedbackError(str(exc)) from None
    if parsed.arg is not None:
        raise FeedbackError(f"bad feedback spec {spec!r}: parameters go in brackets, e.g. "
                            f"{parsed.name}[key=value]")
    if (style := parsed.params.get("style")) in ORACLE_STYLES and not cls.oracle:
        raise FeedbackError(f"{style} is a feedback style of oracle runs only (its gains need a verifier "
                            f"that knows the answer): use oracle[style={style}] or @{style} with a --task, "
                            f"not {parsed.name}")
    params = validate_params(f"feedback source {parsed.name}", cls.Params, parsed.params, FeedbackError)
    source: FeedbackSource = cls.from_params(params, task)
    return source


def _info(name: str, cls: type[Any], alias_of: str | None = None, oracle: bool | None = None) -> FeedbackInfo:
    return FeedbackInfo(name=name, oracle=cls.oracle if oracle is None else oracle,
                        description=cls.description, roles=list(cls.roles),
                        params=params_info(cls.Params), alias_of=alias_of)


def feedback_sources() -> list[FeedbackInfo]:
    """Every registered source, then every alias with what it stands for."""
    infos = [_info(name, cls) for name, cls in FEEDBACK.items()]
    for alias, (target, params) in FEEDBACK.aliases.items():
        written = ",".join(f"{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in params.items())
        oracle = bool(params.get("hidden")) or FEEDBACK[target].oracle
        infos.append(_info(alias, FEEDBACK[target], f"{target}[{written}]", oracle))
    return infos


def __getattr__(name: str) -> Any:
    if name == "FEEDBACK_SOURCES":  # the first release's constant, now derived
        return feedback_sources()
    raise AttributeError(name)

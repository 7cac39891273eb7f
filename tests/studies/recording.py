"""Recorded study runs on the scripted models of `tests.studies.scripts` (shared by the recording and
the HTML report tests)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from redraft.models.cache import ResponseCache
from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.studies import StudyContext, get_study
from redraft.studies.recorded import Replication, replicate
from tests.studies.scripts import Critic, Policy, SampleRule, always_revise, critic_replies, replies


def scripted_context(
    tmp_path: Path,
    draft_right: Callable[[int], bool],
    policy: Policy,
    *,
    limit: int,
    self_critic: Critic = always_revise,
    strong_critic: Critic | None = None,
    critic_name: str = "strong",
    sample_right: SampleRule | None = None,
    seed: int | None = None,
) -> StudyContext:
    """As `scripts.run_study` builds it (cache on, one store under tmp_path), with the strong critic's
    model name given, so a test can make it hostile."""
    cached = ResponseCache(tmp_path / "cache.db")
    generator = replies(draft_right, policy, critic=self_critic, sample_right=sample_right)
    models = {"generator": ManagedModel(ScriptedModel(generator), cache=cached)}
    if strong_critic is not None:
        models["critic"] = ManagedModel(
            ScriptedModel(critic_replies(strong_critic), name=critic_name), cache=cached
        )
    return StudyContext(
        "multiarith", RunStore(tmp_path / "runs.db"), limit=limit, concurrency=1, models=models, seed=seed
    )


def record(
    name: str,
    tmp_path: Path,
    draft_right: Callable[[int], bool],
    policy: Policy,
    *,
    limit: int,
    **options: object,
) -> Replication:
    """Run the study `name` on the scripted models and record it."""
    context = scripted_context(tmp_path, draft_right, policy, limit=limit, **options)  # type: ignore[arg-type]
    return asyncio.run(replicate(get_study(name), context))

""""intrinsic" self-correction studies send their critiques to whatever critic is bound."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from redraft.models.managed import ManagedModel
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.studies import StudyContext, get_study
from tests.studies.scripts import breaks_right_answers, replies, seventy_percent


@pytest.mark.parametrize("study", ["huang2023", "flips"])
def test_intrinsic_arms_are_not_critiqued_by_a_bound_critic(tmp_path: Path, study: str) -> None:
    """A review found: src/redraft/studies/huang2023.py:71 and src/redraft/studies/flips.py:48 run
    `context.evaluate(...)` without `without=("critic",)`, so a critic bound for the replication
    (`--critic-model`, `--role critic=...`) writes every review of `critical` and every critique of
    `self_refine`. huang2023's claim is about *intrinsic* self-correction ("the critic and refiner
    being the model itself", its docstring) and flips' about self-reflection, yet the findings are
    then measured with another model's critiques, and no note says so (strong_verifier.py:94 and
    gen_verify_gap.py:136 unbind the critic for exactly this reason). Fix: evaluate with
    `without=("critic",)`, or refuse / name the critic in a note and the subject."""
    critiques: list[str] = []

    def other_critic(messages: list[dict[str, str]]) -> str:
        critiques.append(messages[-1]["content"])
        return "Step 2 may be wrong.\nVERDICT: revise"

    models = {
        "generator": ManagedModel(
            ScriptedModel(replies(seventy_percent, breaks_right_answers)), backoff_s=0.0
        ),
        "critic": ManagedModel(ScriptedModel(other_critic, name="strong"), backoff_s=0.0),
    }
    context = StudyContext(
        "multiarith", RunStore(tmp_path / "runs.db"), limit=10, concurrency=1, models=models
    )
    result = asyncio.run(get_study(study).run(context))
    said = [note for note in result.notes if re.search(r"\bstrong\b|\bcritic\b", note)]
    assert not critiques or said, (
        f"{len(critiques)} critiques of the 'intrinsic' arms came from the bound critic, and no note says so"
    )

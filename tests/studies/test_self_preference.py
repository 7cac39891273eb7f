"""self_preference on scripted models: the generator answers and judges, a second model answers."""

from __future__ import annotations

import asyncio
import time

import pytest

from redraft.errors import UsageError
from redraft.models.managed import ManagedModel
from redraft.models.resolve import ModelConfig
from redraft.models.scripted import ScriptedModel
from redraft.runs.eval_store import EvalStore
from redraft.runs.store import RunStore
from redraft.studies import STUDIES, StudyContext, get_study
from tests.studies.scripts import (
    first_shown,
    position,
    quality_then_first,
    run_self_preference,
    seventy_percent,
)


@pytest.fixture(autouse=True)
def fast() -> object:
    started = time.perf_counter()
    yield
    assert time.perf_counter() - started < 5


def half(index: int) -> bool:
    """The other model: right on problems 0-4 of every ten (the generator: 0-6)."""
    return index % 10 < 5


def never(index: int) -> bool:
    return False


def quality_then_itself(index: int, own_first: bool, own_right: bool, other_right: bool) -> str:
    """The right answer when only one is right; its own when both are equally right."""
    return "Answer 1 looks fine.\n" + position(own_first, own_right if own_right != other_right else True)


def quality_then_the_other(index: int, own_first: bool, own_right: bool, other_right: bool) -> str:
    return position(own_first, own_right if own_right != other_right else False)


def test_self_preference_is_registered() -> None:
    assert "self_preference" in STUDIES.names()


def test_reproduced_when_the_judge_favours_its_own_answer_among_equals(tmp_path) -> None:
    result = run_self_preference(tmp_path, seventy_percent, half, quality_then_itself, limit=30)
    assert result.verdicts() == {"prefers_own": ["reproduced"]}
    headline, raw = result.findings
    # Equally correct: problems 0-4 (both right) and 7-9 (both wrong) of every ten.
    assert (
        headline.effect == 1.0 and headline.n == 24 and headline.ci_low is not None and headline.ci_low > 0.5
    )
    d = headline.details
    assert (d["wins"], d["losses"], d["splits"], d["both_right"], d["both_wrong"]) == (24, 0, 0, 15, 9)
    assert (d["judgments"], d["unparseable_judgments"], d["problems_unparseable"]) == (60, 0, 0)
    assert d["position_bias"] == 0.5 and d["prefers_own_when_only_own_right"] == 1.0
    assert d["own_accuracy"] == pytest.approx(0.7) and d["other_accuracy"] == 0.5
    assert d["accuracy_gap"] == pytest.approx(0.2) and d["other"] == "other"
    assert not raw.headline and raw.n == 30 and raw.effect == 1.0
    assert headline.p_value is not None and headline.p_value < 1e-6  # 24 wins, no loss
    # One evaluation of the diagnostic; per problem two answers and two judgments.
    [eval_id] = result.eval_ids
    evals = EvalStore(RunStore(tmp_path / "runs.db"))
    assert evals.get(eval_id).strategies == ["pairwise_preference"]
    items = evals.items(eval_id)
    assert {(i.calls, tuple(sorted(i.calls_by_role.items())), len(i.samples)) for i in items} == {
        (4, (("generator", 3), ("other", 1)), 2)
    }


def test_contradicted_when_the_judge_favours_the_other_answer_among_equals(tmp_path) -> None:
    result = run_self_preference(tmp_path, seventy_percent, half, quality_then_the_other, limit=30)
    assert result.verdicts() == {"prefers_own": ["contradicted"]}
    headline, _ = result.findings
    assert headline.effect == 0.0 and (headline.details["wins"], headline.details["losses"]) == (0, 24)


def test_a_preference_for_the_better_answer_is_not_self_preference(tmp_path) -> None:
    # The judge picks the right answer when only one is right, else the one shown first. Its own
    # answer is right more often, so the raw preference for it is large; among equals it has none.
    result = run_self_preference(tmp_path, seventy_percent, never, quality_then_first, limit=30)
    headline, raw = result.findings
    assert raw.effect == pytest.approx(0.85) and raw.verdict == "reproduced"  # (21 + 9/2) / 30
    assert headline.effect == 0.5 and headline.n == 9 and headline.details["splits"] == 9
    assert result.verdicts() == {"prefers_own": ["inconclusive"]} and headline.n_needed is None


def test_a_judge_that_always_names_the_first_answer_shows_position_bias_and_no_preference(tmp_path) -> None:
    result = run_self_preference(tmp_path, seventy_percent, seventy_percent, first_shown, limit=30)
    headline, _ = result.findings
    assert headline.details["position_bias"] == 1.0 and headline.details["splits"] == 30
    assert headline.effect == 0.5 and headline.verdict == "inconclusive" and headline.p_value == 1.0
    assert any("shown first in 100%" in note for note in result.notes)


def test_inconclusive_with_too_few_problems(tmp_path) -> None:
    # Five problems, all both right: its own answer on 0-2, the other's on 3, a split on 4.
    def mostly_itself(index: int, own_first: bool, own_right: bool, other_right: bool) -> str:
        if index == 4:
            return "PREFERRED: 1"
        return position(own_first, index != 3)

    result = run_self_preference(tmp_path, seventy_percent, seventy_percent, mostly_itself, limit=5)
    assert result.verdicts() == {"prefers_own": ["inconclusive"]}
    headline, _ = result.findings
    assert headline.effect == pytest.approx(0.7) and headline.n == 5
    assert headline.n_needed is not None and headline.n_needed > 5


def test_unparseable_judgments_are_counted_and_their_problems_left_out(tmp_path) -> None:
    # On every fifth problem the judgment shown its own answer first names neither answer.
    def rambles(index: int, own_first: bool, own_right: bool, other_right: bool) -> str:
        if index % 5 == 0 and own_first:
            return "Both answers have merit, and they are equally good."
        return position(own_first, True)

    result = run_self_preference(tmp_path, seventy_percent, seventy_percent, rambles, limit=30)
    headline, raw = result.findings
    d = headline.details
    assert (d["judgments"], d["unparseable_judgments"], d["problems_unparseable"]) == (60, 6, 6)
    assert headline.n == raw.n == 24 and d["problems"] == 30 and d["compared"] == 24
    assert d["position_bias"] == pytest.approx(24 / 54)  # readable judgments: 24 shown first, 30 second
    assert any("6 of 60 judgments named neither answer" in note for note in result.notes)


def test_refused_without_another_model(tmp_path) -> None:
    with pytest.raises(UsageError, match="--role other=MODEL"):
        run_self_preference(tmp_path, seventy_percent, half, quality_then_itself, limit=5, other=False)
    # The generator's own model object bound again is no other model either.
    model = ManagedModel(ScriptedModel(lambda messages: "The answer is 1."))
    context = StudyContext(
        "multiarith", RunStore(tmp_path / "runs.db"), limit=1, models={"generator": model, "other": model}
    )
    with pytest.raises(UsageError, match="another model's"):
        asyncio.run(get_study("self_preference").run(context))
    # Nor is the same model and endpoint given as a role config.
    same = StudyContext(
        "multiarith",
        RunStore(tmp_path / "runs.db"),
        limit=1,
        generator=ModelConfig(model="m", base_url="http://h/v1"),
        roles={"other": ModelConfig(model="m")},
    )
    with pytest.raises(UsageError):
        asyncio.run(get_study("self_preference").run(same))
    assert EvalStore(RunStore(tmp_path / "runs.db")).recent() == []  # refused before any evaluation

"""`reward_hacking` on scripted models built so its claims hold, so they fail, and with too few problems."""

from __future__ import annotations

import time

import pytest

from redraft.runs.eval_store import EvalStore
from redraft.runs.store import RunStore
from redraft.studies import get_study
from redraft.studies.reward_hacking import HELD_OUT, SAME_REQUEST, SEPARATE, SHARED
from tests.studies.hacking import CORRECTNESS, FLATTERED, SEVERE, Scorer, odd, run_hacking
from tests.studies.scripts import seventy_percent


@pytest.fixture(autouse=True)
def fast() -> object:
    started = time.perf_counter()
    yield
    assert time.perf_counter() - started < 10


def headline(result, claim: str) -> list:
    return result.headline(claim)


def test_reproduced_when_the_critic_is_flattered_and_the_judge_reads_correctness(tmp_path) -> None:
    # The refiner only adds "Certainly." each round. The model's own critic gives a point per phrase on
    # odd problems (15 of 30), and, sharing the context, one point per earlier attempt (two on every
    # third problem); the held-out judge scores correctness only (8 right, 5 wrong), which never changes.
    result = run_hacking(tmp_path, seventy_percent, FLATTERED, limit=30, held_out=CORRECTNESS)
    assert result.verdicts() == {
        "in_loop_rises": ["reproduced", "reproduced"],
        "held_out_flat": ["reproduced", "reproduced"],
        "shared_context_worse": ["reproduced"],
    }
    separate, shared = headline(result, "in_loop_rises")
    assert [separate.subject, shared.subject] == [
        "separate context: round 0 → last",
        "shared context: round 0 → last",
    ]
    # 21 right drafts score 1, the 9 wrong 0; +0.5 a round on average (15 problems × 1 point, of 10).
    assert separate.details["critic_score_by_round"] == pytest.approx([0.07, 0.12, 0.17, 0.22])
    # Sharing the context adds 4/3 points a round on average (10 problems × 2, 20 × 1).
    assert shared.details["critic_score_by_round"] == pytest.approx(
        [0.07, 0.07 + 0.5 / 10 + 4 / 30, 0.07 + 1 / 10 + 8 / 30, 0.62]
    )
    for f in (separate, shared):
        assert f.details["judge_score_by_round"] == pytest.approx([0.71] * 4)  # (21·8 + 9·5) / 300
        assert f.details["accuracy_by_round"] == pytest.approx([0.7] * 4) and f.details["accuracy_verified"]
        assert f.n == 30 and f.details["n_unscored"] == 0 and f.p_value is not None and f.p_value < 1e-4
    [figure] = get_study("reward_hacking").figures(result)  # critic against judge, per arm and round
    assert [(x.label, x.style) for x in figure.series] == [
        ("in-loop critic (separate context)", "line"), ("held-out judge (separate context)", "dashed"),
        ("in-loop critic (shared context)", "line"), ("held-out judge (shared context)", "dashed")]
    assert figure.series[0].y == pytest.approx([0.07, 0.12, 0.17, 0.22])
    assert figure.series[0].x == [0, 1, 2, 3]
    assert separate.effect == pytest.approx(0.15) and shared.effect == pytest.approx(0.55)
    # A paired t interval: mean ± t(29) · sd / √30, sd of 0 and 0.3 on half the problems each.
    assert separate.ci_low == pytest.approx(0.15 - 2.04523 * 0.152564 / 30**0.5, abs=1e-4)
    diverge_separate, diverge_shared = headline(result, "held_out_flat")
    assert diverge_separate.effect == pytest.approx(0.15) and diverge_shared.effect == pytest.approx(0.55)
    assert diverge_shared.details["held_out_rise"] == 0.0
    rows = [f for f in result.findings if not f.headline]
    assert [(f.subject, round(f.effect, 4)) for f in rows] == [
        ("separate context: round 0 → 1", 0.05),
        ("separate context: round 0 → 2", 0.1),
        ("shared context: round 0 → 1", 0.1833),
        ("shared context: round 0 → 2", 0.3667),
    ]
    [worse] = headline(result, "shared_context_worse")
    assert worse.effect == pytest.approx(0.4) and worse.details["shared_divergence"] == pytest.approx(0.55)
    # One evaluation with the held-out judge in its config; the judge's calls are traced into each run
    # after the method's, in the judge's model, and counted apart from the method's cost.
    [eval_id] = result.eval_ids
    store = RunStore(tmp_path / "runs.db")
    record = EvalStore(store).get(eval_id)
    assert record.strategies == [SEPARATE, SHARED] and record.config["held_out"] == HELD_OUT
    items = EvalStore(store).items(eval_id)
    assert {(i.calls, i.judge_calls) for i in items} == {
        (8, 4)
    }  # draft, 3 × (critique, refine), last critique
    assert {len(i.round_scores) for i in items} == {len(i.held_out_scores) for i in items} == {4}
    run = store.get_run(items[0].run_id)
    held = [c for c in run.call_records if c.stage == "held_out"]
    assert [(c.role, c.model) for c in held] == [("judge", "judge")] * 4
    assert min(c.seq for c in held) > max(c.seq for c in run.call_records if c.stage is None)
    assert items[0].calls_by_role == {"generator": 1, "critic": 4, "refiner": 3, "judge": 4}
    assert any("held-out judge: judge" in note for note in result.notes)
    assert result.cache.cached_calls >= 30  # the shared arm's first drafts


def test_contradicted_when_the_critic_grows_severe_while_the_judge_holds(tmp_path) -> None:
    result = run_hacking(tmp_path, seventy_percent, SEVERE, limit=30, held_out=CORRECTNESS)
    assert result.verdicts() == {
        "in_loop_rises": ["contradicted", "contradicted"],
        "held_out_flat": ["contradicted", "contradicted"],
        "shared_context_worse": ["contradicted"],
    }
    separate, shared = headline(result, "in_loop_rises")
    assert separate.details["critic_score_by_round"] == pytest.approx([0.97, 0.92, 0.87, 0.82])
    assert shared.details["critic_score_by_round"][-1] == pytest.approx(0.42)
    assert (separate.effect, shared.effect) == (pytest.approx(-0.15), pytest.approx(-0.55))
    [worse] = headline(result, "shared_context_worse")
    assert worse.effect == pytest.approx(-0.4)


def test_the_default_judge_is_the_model_itself_so_the_separate_arm_cannot_diverge(tmp_path) -> None:
    # No judge bound: the held-out judge is the generator's model with the critic's rubric, so in the
    # separate arm it sends the critic's very requests (answered from the cache) and scores alike.
    result = run_hacking(tmp_path, seventy_percent, FLATTERED, limit=30)
    assert result.verdicts() == {
        "in_loop_rises": ["reproduced", "reproduced"],
        "held_out_flat": ["inconclusive", "reproduced"],
        "shared_context_worse": ["reproduced"],
    }
    separate, shared = headline(result, "held_out_flat")
    assert separate.effect == 0.0 and separate.ci_low is None and separate.n_needed is None
    assert separate.details["held_out_rise"] == pytest.approx(0.15)  # it saw the phrases as the critic did
    assert shared.effect == pytest.approx(0.4)  # what the shared context alone adds
    assert SAME_REQUEST in result.notes
    assert any("held-out judge: the generator's model" in note for note in result.notes)
    # Per problem the separate arm's 4 judge requests are its critic's: 120 of them from the cache.
    assert result.cache.cached_calls >= 30 + 120


def test_inconclusive_with_too_few_problems(tmp_path) -> None:
    mixed = Scorer(
        base=lambda right: 4, per_mark=lambda i: [1, -1, 1, 0][i], per_attempt=lambda i: [1, 1, -1, 1][i]
    )
    result = run_hacking(tmp_path, lambda index: index < 3, mixed, limit=4, held_out=CORRECTNESS)
    assert result.verdicts() == {
        "in_loop_rises": ["inconclusive", "inconclusive"],
        "held_out_flat": ["inconclusive", "inconclusive"],
        "shared_context_worse": ["inconclusive"],
    }
    for f in result.findings:
        if f.headline:
            assert f.n == 4 and f.n_needed is not None and f.n_needed > 4
            assert f.ci_low is not None and f.ci_high is not None and f.ci_low < 0 < f.ci_high
    assert [f.effect for f in headline(result, "in_loop_rises")] == [
        pytest.approx(0.075),
        pytest.approx(0.225),
    ]


def test_answers_the_critic_gives_no_score_are_left_out_and_counted(tmp_path) -> None:
    result = run_hacking(tmp_path, seventy_percent, None, limit=3, held_out=Scorer(base=int, per_mark=odd))
    assert result.verdicts()["in_loop_rises"] == ["inconclusive", "inconclusive"]
    for f in headline(result, "in_loop_rises"):
        assert f.n == 0 and f.effect is None and f.details["n_unscored"] == 3
    assert any("3 of 3 problems left out" in note for note in result.notes)

"""`blind_spot` on scripted models built so its claims hold, so they fail, with too few problems, and
with problems it must leave out (counted); and through the CLI against a fake endpoint."""

from __future__ import annotations

import json
import time

import pytest
from typer.testing import CliRunner

from redraft.cli import app, replicating  # noqa: F401  (register the commands)
from redraft.runs.eval_store import EvalStore
from redraft.runs.store import RunStore
from redraft.studies import STUDIES, get_study
from redraft.testing import FakeOpenAIServer, FakeReply, serve
from tests.studies.blind_spot_scripts import fixes, replies, run_blind_spot
from tests.studies.scripts import seventy_percent

STRATEGIES = [
    "direct",
    "injected_error[turn=own,wait=false]",
    "injected_error[turn=own,wait=true]",
    "injected_error[turn=user,wait=false]",
    "injected_error[turn=user,wait=true]",
]


def always(index: int) -> bool:
    return True


def never(index: int) -> bool:
    return False


def not_every_tenth(index: int) -> bool:
    """Problems 0, 10, 20, ... are drafted with no worked-out number: nothing to corrupt."""
    return index % 10 != 0


#: Self-Correction Bench's finding: its own error carried on, the user's fixed, and fixed after "Wait".
BLIND = fixes(own=never, own_wait=always, user=always, user_wait=always)


@pytest.fixture(autouse=True)
def fast() -> object:
    started = time.perf_counter()
    yield
    assert time.perf_counter() - started < 5


def test_blind_spot_is_registered() -> None:
    assert "blind_spot" in STUDIES.names()


def test_reproduced_when_the_model_fixes_the_user_s_error_but_not_its_own(tmp_path) -> None:
    result = run_blind_spot(tmp_path, replies(seventy_percent, BLIND, corruptible=not_every_tenth), limit=30)
    assert result.verdicts() == {"blind_spot_positive": ["reproduced"], "wait_shrinks_it": ["reproduced"]}
    blind, wait, user_wait = result.findings
    # 21 of 30 drafts are right; 3 of those (0, 10, 20) have no number to corrupt: 18 pairs.
    assert [(f.subject, f.n, f.effect, f.headline) for f in result.findings] == [
        ("user turn vs own turn", 18, 1.0, True),
        ("own turn + Wait vs own turn", 18, 1.0, True),
        ("user turn + Wait vs user turn (detail)", 18, 0.0, False),
    ]
    assert user_wait.verdict == "inconclusive" and user_wait.n_needed is None
    details = blind.details
    assert details["accuracy"] == {"own": 0.0, "own_wait": 1.0, "user": 1.0, "user_wait": 1.0}
    assert (details["blind_spot_rate"], details["blind_spot_rate_with_wait"], details["wait_reduction"]) == (
        1.0,
        0.0,
        1.0,
    )
    assert details["excluded"] == {"unsolved": 9, "no_corruptible_number": 3}
    assert (details["problems"], details["paired"], details["direct_accuracy"]) == (30, 18, 0.7)
    assert wait.details["accuracy"] == details["accuracy"] and "per_problem" not in wait.details
    [figure] = get_study("blind_spot").figures(result)  # the four arms' accuracy, with intervals
    assert [c.label for c in figure.categories] == ["own turn", "own turn + Wait", "user turn",
                                                     "user turn + Wait"]
    assert figure.bars[0].values == [0.0, 1.0, 1.0, 1.0] and "n=18" in figure.caption
    assert figure.bars[0].low[0] == 0.0 and 0 < figure.bars[0].high[0] < 0.25  # Wilson at 0 of 18
    # The corruption is read back from each probe's record.
    assert details["per_problem"]["multiarith/1"] == {
        "original": "1001",
        "injected": "1002",
        "own": False,
        "own_wait": True,
        "user": True,
        "user_wait": True,
    }
    assert sorted(details["per_problem"]) == sorted(
        f"multiarith/{i}" for i in range(30) if seventy_percent(i) and not_every_tenth(i)
    )
    assert result.notes[0] == (
        "blind-spot rate 1 − acc(own)/acc(user) = 100.0% (own 0.0%, own+Wait 100.0%, user 100.0%, "
        "user+Wait 100.0%, n=18); with Wait on the own turn 0.0%, Wait removed 100.0% of it "
        "(paper: 64.5% on average over 14 models, 89.3% removed by Wait)"
    )
    assert result.notes[1] == (
        "18 of 30 problems are in the paired claims; left out: 9 the first draft was "
        "wrong; 3 no number to corrupt in the draft's reasoning"
    )
    assert not any(f.oracle_conditioned for f in result.findings)
    # One evaluation of five strategies; the five first drafts of a problem are one request.
    [eval_id] = result.eval_ids
    assert EvalStore(RunStore(tmp_path / "runs.db")).get(eval_id).strategies == STRATEGIES
    # 30 drafts paid, 120 served from the cache; 27 corruptible problems x 4 probes.
    assert (result.cache.calls, result.cache.cached_calls) == (150 + 4 * 27, 120)


def test_probe_call_counts_and_stop_reasons_per_problem(tmp_path) -> None:
    result = run_blind_spot(tmp_path, replies(seventy_percent, BLIND, corruptible=not_every_tenth), limit=20)
    items = EvalStore(RunStore(tmp_path / "runs.db")).items(result.eval_ids[0])
    probes = [i for i in items if i.strategy != "direct"]
    assert {(i.problem_index % 10 == 0, i.calls, i.stop_reason) for i in probes} == {
        (True, 1, "no_corruptible_number"),
        (False, 2, "done"),
    }
    assert all(i.calls == 1 and i.stop_reason == "done" for i in items if i.strategy == "direct")


def test_contradicted_when_the_own_turn_fixes_and_wait_hurts(tmp_path) -> None:
    # The reverse of the finding, decisively: the model fixes its own error and not the user's, and
    # "Wait" makes it carry its own error on.
    reverse = fixes(own=always, own_wait=never, user=never, user_wait=never)
    result = run_blind_spot(tmp_path, replies(seventy_percent, reverse), limit=30)
    assert result.verdicts() == {"blind_spot_positive": ["contradicted"], "wait_shrinks_it": ["contradicted"]}
    blind, wait, _ = result.findings
    assert (blind.n, blind.effect, wait.effect) == (21, -1.0, -1.0)
    assert blind.details["blind_spot_rate"] is None  # the user turn never right: no rate
    assert "blind-spot rate 1 − acc(own)/acc(user) = undefined" in result.notes[0]


def test_equal_turns_and_a_useless_wait_decide_nothing(tmp_path) -> None:
    # Fixes its own as well as the user's, "Wait" changes nothing: 21 agreeing pairs cannot tell an
    # effect of exactly 0 from a small one, so both strict claims stay inconclusive, with no n to name.
    same = fixes(own=always, own_wait=always, user=always, user_wait=always)
    result = run_blind_spot(tmp_path, replies(seventy_percent, same), limit=30)
    assert result.verdicts() == {"blind_spot_positive": ["inconclusive"], "wait_shrinks_it": ["inconclusive"]}
    for f in result.findings:
        assert f.n == 21 and f.effect == 0.0 and f.n_needed is None
    assert result.findings[0].details["blind_spot_rate"] == 0.0


def test_inconclusive_with_too_few_problems(tmp_path) -> None:
    few = fixes(own=lambda i: i == 0, own_wait=lambda i: i < 2, user=lambda i: i < 2, user_wait=always)
    result = run_blind_spot(tmp_path, replies(lambda i: i < 3, few), limit=5)
    assert result.verdicts() == {"blind_spot_positive": ["inconclusive"], "wait_shrinks_it": ["inconclusive"]}
    for f in result.findings[:2]:
        assert f.n == 3 and f.effect == pytest.approx(1 / 3) and f.n_needed is not None and f.n_needed > 3
        assert f.verdict_label == "inconclusive at n=3"
    assert result.findings[0].details["blind_spot_rate"] == pytest.approx(0.5)


def test_an_endpoint_that_ignores_the_prefill_is_counted_not_continued(tmp_path) -> None:
    # The own-turn replies start a new turn (glued to the text): no own-turn figure exists, and the
    # note says why rather than scoring a new turn as a continuation.
    result = run_blind_spot(tmp_path, replies(seventy_percent, BLIND, new_turn=True), limit=10)
    assert result.verdicts() == {"blind_spot_positive": ["inconclusive"], "wait_shrinks_it": ["inconclusive"]}
    assert all(f.n == 0 and f.effect is None for f in result.findings)
    assert result.findings[0].details["excluded"] == {"unsolved": 3, "not_continued": 7}
    assert "7 the endpoint answered the own-turn prefill with a new turn (not_continued)" in result.notes[1]
    items = EvalStore(RunStore(tmp_path / "runs.db")).items(result.eval_ids[0])
    assert {i.stop_reason for i in items if "turn=own" in i.strategy} == {"not_continued"}


def test_probes_that_corrupted_different_drafts_are_left_out(tmp_path) -> None:
    # Without the cache, a draft that differs at every call gives each probe its own corruption.
    result = run_blind_spot(tmp_path, replies(always, BLIND, drafts_vary=True), limit=4, cache=False)
    assert result.findings[0].details["excluded"] == {"drafts_differ": 4}
    assert result.notes[1] == (
        "0 of 4 problems are in the paired claims; left out: 4 the probes corrupted "
        "different drafts (no cache, sampled drafts)"
    )


def test_replicate_blind_spot_against_an_endpoint(tmp_path) -> None:
    reply = replies(seventy_percent, BLIND)
    server = FakeOpenAIServer(respond=lambda body: FakeReply(reply(body["messages"])))
    with serve(server):
        args = [
            "replicate",
            "blind_spot",
            "--task",
            "multiarith",
            "--limit",
            "20",
            "--base-url",
            server.base_url,
            "--model",
            "fake",
            "--db",
            str(tmp_path / "runs.db"),
        ]
        result = runner.invoke(app, [*args, "--json"])
        assert result.exit_code == 0, result.output
        out = json.loads(result.stdout)
        assert out["study"] == "blind_spot" and len(out["eval_ids"]) == 1
        assert {f["claim"]: f["verdict"] for f in out["findings"] if f["headline"]} == {
            "blind_spot_positive": "reproduced",
            "wait_shrinks_it": "reproduced",
        }
        assert out["findings"][0]["n"] == 14 and out["findings"][0]["details"]["excluded"] == {"unsolved": 6}
        # The own-turn probes asked the endpoint to continue the assistant message.
        continued = [r for r in server.requests if r["messages"][-1]["role"] == "assistant"]
        assert len(continued) == 40 and all(r["continue_final_message"] is True for r in continued)
        shown = runner.invoke(
            app, ["evals", "show", out["eval_ids"][0], "--db", str(tmp_path / "runs.db"), "--json"]
        )
        assert shown.exit_code == 0, shown.output
        assert [s["strategy"] for s in json.loads(shown.stdout)["strategies"]] == STRATEGIES
        table = runner.invoke(app, args)
        assert table.exit_code == 0, table.output
        assert "64.5%" in table.stdout and "blind-spot rate" in table.stdout
        assert "14 of 20 problems are in the paired claims" in table.stdout


runner = CliRunner()

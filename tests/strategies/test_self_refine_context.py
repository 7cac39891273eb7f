"""Self-Refine's critic sharing the generator's context, a scored critic, and the last answer critiqued."""

from __future__ import annotations

import pytest

from redraft.feedback.critic import (
    CONVERSATION_REVIEW,
    CRITIC_PROMPT,
    SCORE_INSTRUCTION,
    SCORED_CRITIC_PROMPT,
    CriticFeedback,
)
from redraft.feedback.registry import get_feedback
from redraft.models.scripted import ScriptedModel
from redraft.runs.store import RunStore
from redraft.strategies.base import StrategyError
from redraft.strategies.registry import build_strategy
from redraft.strategies.self_refine import REFINE_INSTRUCTION, SelfRefine
from redraft.trace import Verdict
from tests.helpers import PROBLEM, roles, run_scripted

REVISE = "The sum is wrong.\nScore: 3/10\nVERDICT: revise"
BETTER = "Closer.\nScore: 6/10\nVERDICT: revise"
BEST = "Much better.\nScore: 9/10\nVERDICT: revise"


def test_a_scored_critic_asks_for_a_score_line_and_reads_it() -> None:
    assert SCORED_CRITIC_PROMPT.replace(SCORE_INSTRUCTION, "") == CRITIC_PROMPT
    source = get_feedback("critic[scored=true]")
    assert isinstance(source, CriticFeedback) and source.template == SCORED_CRITIC_PROMPT
    assert get_feedback("critic").template == CRITIC_PROMPT  # unchanged: cached critiques stay valid
    model = ScriptedModel(["5", REVISE, "4"])
    outcome = run_scripted(SelfRefine(max_rounds=1, feedback=source), model)
    asked = model.history[1][0]
    assert len(asked) == 1 and '"Score: N/10"' in asked[0]["content"]
    assert outcome.candidates[0].score == pytest.approx(0.3)


def test_critique_last_scores_every_round_and_keeps_the_last_answer(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = ScriptedModel(["a0", REVISE, "a1", BETTER, "a2", BEST])
    strategy = build_strategy("self_refine[max_rounds=2,critique_last=true]@critic[scored=true]")
    outcome = run_scripted(strategy, model, store=store)
    assert roles(store, outcome.run_id) == ["generator", "critic", "refiner", "critic", "refiner", "critic"]
    assert [c.score for c in outcome.candidates] == pytest.approx([0.3, 0.6, 0.9])
    assert (outcome.text, outcome.stop_reason) == ("a2", "max_rounds")


def test_a_critic_sharing_the_context_is_asked_after_the_whole_conversation(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = ScriptedModel(["a0", REVISE, "a1", BETTER, "a2", BEST])
    strategy = build_strategy(
        "self_refine[max_rounds=2,critique_last=true,critic_context=shared]@critic[scored=true]"
    )
    outcome = run_scripted(strategy, model, store=store)
    assert roles(store, outcome.run_id) == ["generator", "critic", "refiner", "critic", "refiner", "critic"]
    first, second, last = (model.history[i][0] for i in (1, 3, 5))
    assert [m["role"] for m in first] == ["user", "assistant", "user"]
    assert (first[0]["content"], first[1]["content"]) == (PROBLEM.prompt, "a0")
    assert first[2]["content"].startswith(CONVERSATION_REVIEW) and "Score: N/10" in first[2]["content"]
    # The refiner's conversation, then its answer, then the review: every attempt and feedback in view.
    assert [m["content"] for m in second[:3]] == [
        PROBLEM.prompt,
        "a0",
        f"Feedback:\n{REVISE}\n\n{REFINE_INSTRUCTION}",
    ]
    assert second[3] == {"role": "assistant", "content": "a1"} and second[4] == first[2]
    assert [m["content"] for m in last if m["role"] == "assistant"] == ["a0", "a1", "a2"]
    assert [c.score for c in outcome.candidates] == pytest.approx([0.3, 0.6, 0.9])
    assert [c.verdict for c in outcome.candidates] == [Verdict.REVISE] * 3


def test_a_shared_context_needs_a_critic_that_can_read_the_conversation() -> None:
    with pytest.raises(StrategyError, match="critic_context=shared"):
        build_strategy("self_refine[critic_context=shared]@tests")
    assert SelfRefine(critic_context="shared").params.critic_context == "shared"  # the default critic

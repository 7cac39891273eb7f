"""Local refine and rerank call by call: a greedy draft, verified; below tau a global and a local
(first-wrong-step) refinement, each verified; a refinement replaces the draft only by scoring higher."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from redraft.api import build_strategy
from redraft.context import Budget
from redraft.models.base import Completion, Message
from redraft.models.scripted import ScriptedModel, logprob_reply
from redraft.runs.store import RunStore
from redraft.strategies.base import StrategyError
from redraft.strategies.local_refine import LocalRefine, parse_first_wrong
from redraft.tasks.extract import extract_number
from tests.helpers import roles, run_scripted

DRAFT = "Step 1: 2 + 2 means adding two and two.\nStep 2: 2 + 2 = 5.\nThe answer is 5."
GLOBAL = "Two and two make four. The answer is 4."
CONTINUATION = "Step 2: 2 + 2 = 4.\nThe answer is 4."
LOCAL = "Step 1: 2 + 2 means adding two and two.\n" + CONTINUATION
CRITIQUE = "Step 1 is correct. Step 2 is wrong: 2 + 2 is 4.\nFIRST WRONG STEP: 2"


def verdict(p: float) -> Completion:
    return logprob_reply("(A) True", top=[{"(A)": math.log(p), "(B)": math.log(1 - p)}])


def model_for(p_true: dict[str, float], critique: str = CRITIQUE, **kwargs: object) -> ScriptedModel:
    """Replies by what is asked (the global and local chains run concurrently)."""

    def reply(messages: list[Message], sampling: dict[str, object]) -> str | Completion:
        prompt = messages[-1]["content"]
        if "Proposed answer:" in prompt:
            proposed = prompt.split("Proposed answer: ", 1)[1].split("\nIs the proposed answer", 1)[0]
            return verdict(p_true[proposed]) if proposed in p_true else "Hmm."
        if "Continue the solution from step" in prompt:  # before the critic's: it quotes the critique
            return CONTINUATION
        if "FIRST WRONG STEP" in prompt:
            return critique
        if "Solve the problem again from scratch" in prompt:
            return GLOBAL
        return DRAFT

    return ScriptedModel(reply, **kwargs)  # type: ignore[arg-type]


def test_a_draft_the_verifier_trusts_is_kept_after_two_calls(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = model_for({DRAFT: 0.8})
    outcome = run_scripted(LocalRefine(), model, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator", "verifier"]
    assert model.history[0][1]["temperature"] == 0.0  # the draft is greedy
    assert model.history[1][1]["logprobs"] is True
    assert (outcome.text, outcome.stop_reason) == (DRAFT, "verified")
    assert outcome.candidates[0].score == pytest.approx(0.8)


def test_below_tau_both_refinements_are_made_and_the_best_scored_wins(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = model_for({DRAFT: 0.2, GLOBAL: 0.7, LOCAL: 0.9})
    outcome = run_scripted(LocalRefine(), model, store=store, extract=extract_number)
    called = roles(store, outcome.run_id)
    assert called[:2] == ["generator", "verifier"] and len(called) == 7
    assert Counter(called[2:]) == {"critic": 1, "refiner": 2, "verifier": 2}
    assert (outcome.text, outcome.answer, outcome.stop_reason) == (LOCAL, "4", "reranked")
    kinds = {c.kind: c for c in outcome.candidates}
    assert set(kinds) == {"draft", "global", "local"}
    assert [kinds[k].score for k in ("draft", "global", "local")] == pytest.approx([0.2, 0.7, 0.9])
    assert kinds["local"].metadata == {"kept_steps": 1, "first_wrong_step": 2, "verifier_reply": "(A) True"}
    assert kinds["draft"].metadata["first_wrong_step"] == 2 and kinds["global"].parent == kinds["draft"].seq


def test_the_critic_sees_numbered_steps_and_the_local_refiner_keeps_those_before_the_wrong_one() -> None:
    model = model_for({DRAFT: 0.2, GLOBAL: 0.7, LOCAL: 0.9})
    run_scripted(LocalRefine(), model, extract=extract_number)
    prompts = [messages[-1]["content"] for messages, _ in model.history]
    critic = next(p for p in prompts if "FIRST WRONG STEP" in p and "Continue" not in p)
    assert critic.endswith(
        "Solution:\nStep 1: 2 + 2 means adding two and two.\nStep 2: 2 + 2 = 5.\nStep 3: The answer is 5."
    )  # its own "Step i:" not repeated
    local = next(p for p in prompts if "Continue the solution" in p)
    assert (
        "correct:\nStep 1: 2 + 2 means adding two and two.\n\nThe next step was wrong:\nStep 2: 2 + 2 = 5.\n"
    ) in local and CRITIQUE in local
    glob = next(p for p in prompts if "from scratch" in p)
    assert DRAFT in glob and "FIRST WRONG" not in glob  # the global refiner is not told where


def test_a_refinement_must_outscore_the_draft() -> None:
    outcome = run_scripted(
        LocalRefine(), model_for({DRAFT: 0.4, GLOBAL: 0.4, LOCAL: 0.3}), extract=extract_number
    )
    assert (outcome.text, outcome.stop_reason) == (DRAFT, "reranked")


def test_a_critique_naming_no_wrong_step_leaves_the_global_refinement_alone(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    model = model_for({DRAFT: 0.2, GLOBAL: 0.7}, critique="All fine.\nFIRST WRONG STEP: none")
    outcome = run_scripted(LocalRefine(), model, store=store, extract=extract_number)
    assert len(roles(store, outcome.run_id)) == 5
    assert [c.kind for c in outcome.candidates] == ["draft", "global"] and outcome.text == GLOBAL


def test_an_unreadable_p_true_refines_and_ranks_last() -> None:
    outcome = run_scripted(LocalRefine(), model_for({GLOBAL: 0.1}), extract=extract_number)
    draft = outcome.candidates[0]
    assert draft.score is None and "no readable" in draft.metadata["unreadable"]
    assert draft.metadata["verifier_reply"] == "Hmm."
    assert outcome.text == GLOBAL  # scored, however low, beats unscored (the draft's and local's)


def test_the_explicit_fallback_scores_with_the_feedback_source_and_needs_no_logprobs(tmp_path) -> None:
    store = RunStore(tmp_path / "r.db")
    generator = ScriptedModel([DRAFT], supports_logprobs=False)
    critic = ScriptedModel(["Looks right. Score: 9/10\nVERDICT: correct"], supports_logprobs=False)
    strategy = build_strategy("local_refine[verifier=feedback]", "critic")
    outcome = run_scripted(strategy, generator, critic=critic, store=store, extract=extract_number)
    assert roles(store, outcome.run_id) == ["generator", "critic"]
    assert (outcome.stop_reason, outcome.candidates[0].score) == ("verified", 0.9)


def test_p_true_without_logprobs_is_refused_before_any_call() -> None:
    model = model_for({}, supports_logprobs=False)
    with pytest.raises(StrategyError, match="reads token logprobs in the 'verifier' role"):
        run_scripted(LocalRefine(), model)
    assert model.history == []


def test_the_verifier_choice_and_the_feedback_source_must_agree() -> None:
    with pytest.raises(
        StrategyError, match=r"local_refine\[verifier=feedback\] scores with the feedback source"
    ):
        build_strategy("local_refine[verifier=feedback]")
    with pytest.raises(StrategyError, match="set verifier=feedback"):
        build_strategy("local_refine", "critic")


def test_a_budget_cut_during_refinement_keeps_the_best_scored_so_far() -> None:
    outcome = run_scripted(
        LocalRefine(),
        model_for({DRAFT: 0.2, GLOBAL: 0.7, LOCAL: 0.9}),
        budget=Budget(max_calls=3),
        extract=extract_number,
    )
    assert outcome.stop_reason == "budget" and outcome.text == DRAFT  # no refinement was verified


def test_the_first_wrong_step_is_read_from_the_last_line_that_names_it() -> None:
    assert parse_first_wrong("FIRST WRONG STEP: 1\n...\nFirst wrong step: Step 3", 4) == 3
    assert parse_first_wrong("FIRST WRONG STEP: none", 4) is None
    assert parse_first_wrong("FIRST WRONG STEP: 9", 4) is None  # no such step
    assert parse_first_wrong("Step 2 is wrong.", 4) is None

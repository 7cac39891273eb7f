"""Roles are declared: `--role NAME=MODEL[@BASE_URL]` reaches every call made in that role."""

from __future__ import annotations

import json
from typing import Any

import pytest

from redraft.models.scripted import ScriptedModel
from redraft.roles import RoleError, parse_binding
from redraft.runs.store import RunStore
from redraft.strategies.registry import STRATEGIES, build_strategy
from redraft.testing import FakeOpenAIServer, FakeReply, serve
from tests.helpers import PROBLEM, REQUIRED_PARAMS, run_scripted
from tests.test_cli import redraft


def generator_reply(body: dict[str, Any]) -> FakeReply:
    prompt = body["messages"][-1]["content"]
    if "reflection" in prompt.lower() and "Refine your answer" in prompt:
        return FakeReply("Refined: 2 + 2 = 4. The answer is 4.")
    if "weak answer" in prompt:
        return FakeReply("It is fine.\nVERDICT: correct")
    return FakeReply("2 + 2 = 4. The answer is 4.")


def test_role_reward_sends_every_mctsr_grading_call_to_its_own_endpoint() -> None:
    grader = FakeOpenAIServer(replies=[FakeReply("[Analysis] ok\n[Score] 40")], models=["grader"])
    with serve(FakeOpenAIServer(respond=generator_reply)) as gen, serve(grader) as rm:
        result = redraft("run", "What is 2 + 2?", "--strategy", "mctsr[rollouts=1]",
                         "--base-url", gen.base_url, "--model", "small",
                         "--role", f"reward=grader@{rm.base_url}", "--json")
    assert result.returncode == 0, result.stderr
    # two roots, then one more grade of the chosen node and one of its new child
    assert len(rm.requests) == 4 and {r["model"] for r in rm.requests} == {"grader"}
    assert all("[Score]" in r["messages"][-1]["content"] for r in rm.requests)
    assert all("[Score]" not in r["messages"][-1]["content"] for r in gen.requests)
    assert len(gen.requests) == 3  # draft, critique (no critic bound: the generator), refinement
    run = RunStore().get_run(json.loads(result.stdout)["run_id"])
    assert run.models["reward"] == "grader" and run.models["generator"] == "small"
    assert [c.role for c in run.call_records].count("reward") == 4


def test_critic_model_reaches_every_judging_role() -> None:
    strong = FakeOpenAIServer(replies=[FakeReply("[Score] 30\nIt is fine.\nVERDICT: correct")])
    with serve(FakeOpenAIServer(respond=generator_reply)) as gen, serve(strong) as big:
        result = redraft("run", "What is 2 + 2?", "--strategy", "mctsr[rollouts=1]",
                         "--base-url", gen.base_url, "--critic-base-url", big.base_url,
                         "--critic-model", "big", "--json")
    assert result.returncode == 0, result.stderr
    assert len(big.requests) == 5  # four grades (reward falls back to the critic) and the critique
    assert len(gen.requests) == 2  # the draft and the refinement


def test_an_unknown_role_name_fails_with_a_clear_error() -> None:
    result = redraft("run", "Q?", "--base-url", "http://127.0.0.1:9/v1", "--role", "rewarder=x")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("error: unknown role 'rewarder'; roles are: generator,")
    with pytest.raises(RoleError, match="NAME=MODEL"):
        parse_binding("reward")
    assert parse_binding("judge=qwen@http://h:1/v1") == ("judge", "qwen", "http://h:1/v1")
    assert parse_binding("reward=@http://h:1/v1") == ("reward", None, "http://h:1/v1")


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_calls_only_the_roles_it_declares(name: str) -> None:
    """Run each strategy on a model that answers anything; every call's role must be declared."""
    def anything(messages: list[dict[str, str]]) -> str:
        return "Step 1: 2 + 2 = 4. The answer is 4.\n[Score] 10\nVERDICT: revise\nBEST: 2\nALL ANSWERED: no"

    strategy = build_strategy(name, **REQUIRED_PARAMS.get(name, {}))
    store = RunStore()
    outcome = run_scripted(strategy, ScriptedModel(anything), store=store)
    called = {c.role for c in store.get_run(outcome.run_id or "").call_records}
    assert called and called <= set(strategy.all_roles()), (called, strategy.all_roles())
    assert set(store.get_run(outcome.run_id or "").models) >= set(strategy.all_roles())
    assert PROBLEM.id == outcome.problem_id


def test_an_evaluation_stores_its_role_bindings_without_keys_and_reads_old_configs() -> None:
    from redraft.models.resolve import ModelConfig
    from redraft.runs.evaluation import EvalConfig

    config = EvalConfig(task="gsm8k", strategies=["direct"], generator=ModelConfig(api_key="g-key"),
                        roles={"reward": ModelConfig(model="rm", api_key="r-key")})
    stored = json.dumps(config.stored())
    assert "g-key" not in stored and "r-key" not in stored and '"rm"' in stored
    old = EvalConfig.model_validate({"task": "gsm8k", "strategies": ["direct"], "critic": {"model": "big"}})
    assert old.roles["critic"].model == "big"  # the first release kept the critic in its own field
    with pytest.raises(ValueError, match="unknown role 'rewarder'"):
        EvalConfig(task="gsm8k", strategies=["direct"], roles={"rewarder": ModelConfig()})

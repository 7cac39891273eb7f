"""inspect_ai for real, offline: redraft solvers and the `redraft/SPEC:MODEL` provider in Inspect evals
against redraft's fake OpenAI endpoint, and `redraft evals export --inspect` read back with
`read_eval_log`. Nothing of Inspect is mocked."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("inspect_ai")  # the [inspect] extra (not in `all`)

from inspect_ai import Task  # noqa: E402
from inspect_ai import eval as inspect_eval  # noqa: E402
from inspect_ai.dataset import Sample  # noqa: E402
from inspect_ai.log import EvalLog, EvalSample, read_eval_log  # noqa: E402
from inspect_ai.model import ModelOutput, ModelUsage  # noqa: E402
from inspect_ai.scorer import includes  # noqa: E402
from inspect_ai.solver import SolverSpec  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

import redraft.cli.evaluating  # noqa: E402, F401  (registers `redraft evals export`)
import redraft.integrations.inspect_registry  # noqa: E402, F401  (registers without the entry point)
from redraft.api import aevaluate  # noqa: E402
from redraft.cli.app import app  # noqa: E402
from redraft.errors import UsageError  # noqa: E402
from redraft.integrations.inspect_log import export_inspect, solver_of  # noqa: E402
from redraft.integrations.inspect_model import completion_of, generate_config  # noqa: E402
from redraft.integrations.inspect_provider import split_model_name  # noqa: E402
from redraft.integrations.inspect_solvers import run_solver, strategy_solver  # noqa: E402
from redraft.models.base import ModelError  # noqa: E402
from redraft.models.resolve import ModelConfig  # noqa: E402
from redraft.runs.eval_store import EvalStore  # noqa: E402
from redraft.runs.store import RunStore  # noqa: E402
from redraft.strategies.base import StrategyError  # noqa: E402
from redraft.strategies.self_refine import SelfRefine  # noqa: E402
from redraft.testing import FakeOpenAIServer, FakeReply, serve  # noqa: E402

CRITIC_ASKS = '"VERDICT: correct" if no change is needed'
REFINE_ASKS = "Write an improved answer"
GEN, CRITIC = "openai-api/fake/gen", "openai-api/fake/critic"


def respond(body: dict[str, Any]) -> FakeReply:
    """A generator wrong on 2+2 (right after one refinement) and right on 3+3; a critic that says so."""
    last = body["messages"][-1]["content"]
    if REFINE_ASKS in last:
        return FakeReply("The answer is 4.")
    if CRITIC_ASKS in last:
        return FakeReply(
            "It is 4, not 5.\nVERDICT: revise" if "answer is 5" in last else "Right.\nVERDICT: correct"
        )
    return FakeReply("The answer is 5." if "2+2" in last else "The answer is 6.")


@pytest.fixture(scope="module")
def server() -> Iterator[FakeOpenAIServer]:
    """The fake endpoint as Inspect's OpenAI-compatible provider `openai-api/fake/...` reaches it: one
    for the module, since Inspect keeps a model it made (and its base URL) for the process."""
    with serve(FakeOpenAIServer(respond=respond)) as fake, pytest.MonkeyPatch.context() as env:
        env.setenv("FAKE_BASE_URL", fake.base_url)
        env.setenv("FAKE_API_KEY", "sk-fake")
        yield fake


def arithmetic() -> Task:
    return Task(
        dataset=[
            Sample(id="p1", input="What is 2+2?", target="4"),
            Sample(id="p2", input="What is 3+3?", target="6"),
        ],
        scorer=includes(),
    )


def run_eval(tmp_path: Path, **options: Any) -> EvalLog:
    [log] = inspect_eval(
        arithmetic(),
        model_roles={"critic": CRITIC},
        log_dir=str(tmp_path),
        display="none",
        max_samples=1,
        **options,
    )
    assert log.status == "success", log.error
    return log


def sample(log: EvalLog, sample_id: str) -> EvalSample:
    assert log.samples is not None
    return next(s for s in log.samples if s.id == sample_id)


def calls(s: EvalSample) -> list[tuple[str | None, str]]:
    return [(e.role, e.model) for e in s.events if e.event == "model"]


def answer_event(s: EvalSample, model: str) -> Any:
    [event] = [e for e in s.events if e.event == "model" and e.model == model]
    return event


# The solvers ------------------------------------------------------------------------------------


def test_a_solver_runs_the_strategy_with_the_model_roles_and_records_it(server, tmp_path) -> None:
    args = {"max_rounds": 2, "answer": "number"}
    before = len(server.requests)
    log = run_eval(tmp_path, model=GEN, solver=SolverSpec("redraft/self_refine", args, args))
    assert log.eval.solver == "redraft/self_refine" and log.eval.solver_args == args
    wrong_first, right_first = sample(log, "p1"), sample(log, "p2")
    # 2+2: drafted wrong, the critic (its own model) says revise, refined, the critic approves.
    assert calls(wrong_first) == [
        ("generator", GEN),
        ("critic", CRITIC),
        ("refiner", GEN),
        ("critic", CRITIC),
    ]
    assert calls(right_first) == [("generator", GEN), ("critic", CRITIC)]
    assert wrong_first.output.completion == "The answer is 4." and wrong_first.scores["includes"].value == "C"
    assert (
        wrong_first.messages[-1].text == "The answer is 4." and wrong_first.messages[0].text == "What is 2+2?"
    )
    run = wrong_first.metadata["redraft"]
    assert run["stop_reason"] == "verdict" and run["calls"] == 4 and run["oracle"] is False
    assert [r["answer"] for r in run["rounds"]] == ["5", "4"]  # answer=number: what votes would compare
    assert set(run["usage_by_role"]) == {"generator", "critic", "refiner"}
    # Usage is set everywhere: each call's own, and the solver's output carries the strategy's total.
    model_events = [e for e in wrong_first.events if e.event == "model"]
    assert all(e.output.usage is not None and e.output.usage.total_tokens > 0 for e in model_events)
    assert wrong_first.output.usage is not None
    assert wrong_first.output.usage.input_tokens == sum(e.output.usage.input_tokens for e in model_events)
    assert [r["model"] for r in server.requests[before:]] == [
        "gen",
        "critic",
        "gen",
        "critic",
        "gen",
        "critic",
    ]


def test_the_generic_solver_takes_a_spec_and_redrafts_budget(server, tmp_path) -> None:
    # `-S spec=self_refine[max_rounds=3,final=last]` as Inspect's command line delivers it: split at commas.
    args = {"spec": ["self_refine[max_rounds=3", "final=last]"], "budget_calls": 2}
    log = run_eval(tmp_path, model=GEN, solver=SolverSpec("redraft/strategy", args, args))
    wrong_first = sample(log, "p1")
    assert wrong_first.metadata["redraft"]["params"]["max_rounds"] == 3
    assert calls(wrong_first) == [("generator", GEN), ("critic", CRITIC)]  # the refine was not affordable
    assert wrong_first.metadata["redraft"]["stop_reason"] == "budget"
    assert wrong_first.output.completion == "The answer is 5."


def test_a_solver_checks_its_arguments_when_it_is_made() -> None:
    with pytest.raises(StrategyError, match="self_refine has no parameter bogus"):
        run_solver("self_refine", bogus=1)
    with pytest.raises(StrategyError, match="bad parameters for self_refine"):
        run_solver("self_refine", max_rounds=-1)
    with pytest.raises(UsageError, match="answer='words'"):
        run_solver("self_refine", answer="words")
    with pytest.raises(UsageError, match="budget_calls must be a positive integer"):
        run_solver("self_refine", budget_calls=0)
    # The signature Inspect checks `-S` against and records: the paper defaults, then redraft's own.
    signature = inspect.signature(strategy_solver("self_refine", SelfRefine))
    assert list(signature.parameters) == [
        *SelfRefine.Params.model_fields,
        "feedback",
        "answer",
        "budget_calls",
        "budget_tokens",
    ]
    assert list(SelfRefine.Params.model_fields)[:3] == ["max_rounds", "max_history_tokens", "on_unknown"]
    assert (
        signature.parameters["max_rounds"].default == 4 and signature.parameters["answer"].default == "text"
    )


def test_inspect_eval_on_the_command_line_finds_the_solver_through_the_entry_point(server, tmp_path) -> None:
    """The command the issue names, in a fresh process: only the `inspect_ai` entry point can register
    `redraft/self_refine` there (an install whose metadata predates it fails here: reinstall)."""
    task_file = tmp_path / "arith.py"
    task_file.write_text(
        "from inspect_ai import Task, task\nfrom inspect_ai.dataset import Sample\n"
        "from inspect_ai.scorer import includes\n\n@task\ndef arith():\n"
        "    return Task(dataset=[Sample(id='p1', input='What is 2+2?', target='4')], scorer=includes())\n"
    )
    logs = tmp_path / "logs"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "inspect_ai",
            "eval",
            task_file.name,
            "--model",
            GEN,
            "--solver",
            "redraft/self_refine",
            "-S",
            "max_rounds=2",
            "--model-role",
            f"critic={CRITIC}",
            "--log-dir",
            str(logs),
            "--display",
            "none",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [written] = list(logs.glob("*.eval"))
    log = read_eval_log(str(written))
    assert log.status == "success" and log.eval.solver == "redraft/self_refine"
    assert log.eval.solver_args == {"max_rounds": 2}
    only = sample(log, "p1")
    assert calls(only) == [("generator", GEN), ("critic", CRITIC), ("refiner", GEN), ("critic", CRITIC)]
    assert only.scores["includes"].value == "C"


# The model provider -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("self_refine:openai/gpt-4o", ("self_refine", "openai/gpt-4o")),
        ("self_refine[max_rounds=2]:ollama/llama3:8b", ("self_refine[max_rounds=2]", "ollama/llama3:8b")),
        ("self_refine@tests:pass_fail:openai/x", ("self_refine@tests:pass_fail", "openai/x")),
        ("best_of_n[n=2;temperature=0.5]:openai/x", ("best_of_n[n=2,temperature=0.5]", "openai/x")),
        (
            "best_of_n[n=2]>self_refine:openai-api/fake/gen",
            ("best_of_n[n=2]>self_refine", "openai-api/fake/gen"),
        ),
    ],
)
def test_the_provider_name_splits_at_the_colon_before_the_generators_provider(name, expected) -> None:
    assert split_model_name(name) == expected


@pytest.mark.parametrize("name", ["self_refine", "self_refine:gpt-4o", ":openai/gpt-4o"])
def test_a_provider_name_without_a_generator_is_refused(name) -> None:
    with pytest.raises(UsageError, match=r"redraft/SPEC:MODEL"):
        split_model_name(name)


def test_the_provider_answers_generate_with_a_strategy(server, tmp_path) -> None:
    outer = f"redraft/self_refine[max_rounds=2]:{GEN}"
    log = run_eval(tmp_path, model=outer)  # the task's plain generate() solver
    wrong_first = sample(log, "p1")
    assert wrong_first.output.completion == "The answer is 4." and wrong_first.scores["includes"].value == "C"
    # The answer's model event (it starts first), then every call the strategy made, under its role.
    assert calls(wrong_first) == [
        (None, outer),
        ("generator", GEN),
        ("critic", CRITIC),
        ("refiner", GEN),
        ("critic", CRITIC),
    ]
    answer = answer_event(wrong_first, outer)
    assert answer.output.usage == ModelUsage()  # set, and zero: the calls are counted under their models
    assert answer.output.metadata is not None
    assert answer.output.metadata["redraft"]["stop_reason"] == "verdict"
    assert answer.output.metadata["redraft"]["calls"] == 4
    assert wrong_first.model_usage[outer].total_tokens == 0 and wrong_first.model_usage[GEN].total_tokens > 0


def test_the_providers_model_args_are_redrafts_budget_and_answer(server, tmp_path) -> None:
    outer = f"redraft/self_refine[max_rounds=3;on_unknown=stop]:{GEN}"  # `;`: Inspect splits on commas
    log = run_eval(tmp_path, model=outer, model_args={"budget_calls": 2, "answer": "number"})
    run = answer_event(sample(log, "p1"), outer).output.metadata["redraft"]
    assert run["params"]["max_rounds"] == 3 and run["params"]["on_unknown"] == "stop"
    assert run["stop_reason"] == "budget" and run["answer"] == "5" and run["calls"] == 2


# The adapter ------------------------------------------------------------------------------------


def test_a_call_without_usage_gets_redrafts_estimate_never_a_tokenizer_download() -> None:
    messages = [{"role": "user", "content": "What is 2+2?"}]
    completion = completion_of(
        ModelOutput.from_content(model="m", content="four", stop_reason="max_tokens"), messages
    )
    assert (completion.prompt_tokens, completion.completion_tokens) == (4 + 8, 2)  # ceil(12/3) + 8, ceil(4/3)
    assert completion.finish_reason == "length" and completion.text == "four"
    counted = ModelOutput.from_content(model="m", content="four")
    counted.usage = ModelUsage(input_tokens=10, output_tokens=3, input_tokens_cache_read=5, total_tokens=18)
    assert completion_of(counted, messages).prompt_tokens == 15  # cached input tokens are prompt tokens


def test_sampling_goes_to_inspects_config_and_nothing_is_dropped() -> None:
    config = generate_config({"temperature": 0.7, "max_tokens": 64, "stop": "END", "seed": None})
    assert (config.temperature, config.max_tokens, config.stop_seqs, config.seed) == (0.7, 64, ["END"], None)
    with pytest.raises(ModelError, match="no sampling parameter choices"):
        generate_config({"choices": ["a", "b"]})


# The export -------------------------------------------------------------------------------------


def test_an_evaluation_exports_as_inspect_logs_with_rounds_roles_and_flips(tmp_path) -> None:
    data = tmp_path / "sums.jsonl"
    data.write_text(
        "".join(
            json.dumps(row) + "\n"
            for row in [
                {"question": "What is 2+2?", "answer": "4"},
                {"question": "What is 3+3?", "answer": "6"},
            ]
        )
    )
    store = RunStore(tmp_path / "runs.db")
    strategies = ["direct", "self_refine[max_rounds=2]", "self_refine[max_rounds=1]@oracle"]
    with serve(FakeOpenAIServer(respond=respond)) as fake:
        asyncio.run(
            aevaluate(
                f"jsonl:{data}",
                strategies,
                store=store,
                concurrency=1,
                model=ModelConfig(model="gen-model", base_url=fake.base_url, api_key="sk-fake"),
                roles={
                    "critic": ModelConfig(model="critic-model", base_url=fake.base_url, api_key="sk-fake")
                },
            )
        )
    record = EvalStore(store).recent(1)[0]
    out = tmp_path / "logs"
    result = CliRunner().invoke(
        app, ["evals", "export", record.id, "--inspect", str(out), "--db", str(tmp_path / "runs.db")]
    )
    assert result.exit_code == 0, result.output
    created = re.sub(r"[:+]", "-", record.created_at[:19] + "+00:00")
    names = sorted(p.name for p in out.glob("*.eval"))
    assert names == sorted(
        f"{created}_jsonl-sums_{record.id}-{slug}.eval"
        for slug in ["direct", "self-refine-max-rounds-2", "self-refine-max-rounds-1-oracle"]
    )
    logs = {read_eval_log(str(p)).eval.task_id: read_eval_log(str(p)) for p in out.glob("*.eval")}

    refine = logs[f"{record.id}-self-refine-max-rounds-2"]
    assert refine.eval.solver == "redraft/self_refine" and refine.eval.solver_args == {"max_rounds": 2}
    assert refine.eval.model == "gen-model" and refine.eval.model_roles["critic"].model == "critic-model"
    assert [s.id for s in refine.samples] == ["sums/0", "sums/1"]
    fixed = refine.samples[0]
    assert (
        isinstance(fixed.input, str)
        and fixed.input.endswith("Problem: What is 2+2?")
        and fixed.target == "4"
        and fixed.output.completion == "The answer is 4."
    )
    assert fixed.scores["correct"].value == "C" and fixed.scores["correct"].answer == "4"
    # A span per round, a model event per call with its role, round 0's score between the rounds.
    kinds = [(e.event, getattr(e, "role", None) or getattr(e, "name", None)) for e in fixed.events]
    assert kinds == [
        ("span_begin", "round 0"),
        ("model", "generator"),
        ("info", None),
        ("span_end", None),
        ("score", None),
        ("span_begin", "round 1"),
        ("model", "critic"),
        ("model", "refiner"),
        ("info", None),
        ("model", "critic"),
        ("span_end", None),
        ("score", None),
    ]
    scores = [e for e in fixed.events if e.event == "score"]
    assert [(s.intermediate, s.score.value, s.score.answer) for s in scores] == [
        (True, "I", "5"),
        (False, "C", "4"),
    ]
    assert [e.model for e in fixed.events if e.event == "model"] == [
        "gen-model",
        "critic-model",
        "gen-model",
        "critic-model",
    ]
    assert all(e.output.usage is not None for e in fixed.events if e.event == "model")
    assert fixed.metadata["oracle"] is False and fixed.metadata["round_correct"] == [False, True]
    assert fixed.metadata["flips"] == {
        "first_to_final": "wrong_to_right",
        "by_round": [{"round": 1, "flip": "wrong_to_right"}],
    }
    assert fixed.role_usage["critic"].total_tokens > 0
    assert refine.results.scores[0].metrics["accuracy"].value == 1.0
    assert refine.results.metadata["accuracy_by_round"] == [0.5, 1.0]
    assert refine.results.metadata["wrong_to_right"] == 1 and refine.results.metadata["right_to_wrong"] == 0

    direct = logs[f"{record.id}-direct"]
    assert [s.scores["correct"].value for s in direct.samples] == ["I", "C"]
    assert not [e for s in direct.samples for e in s.events if e.event == "score" and e.intermediate]
    assert direct.results.scores[0].metrics["accuracy"].value == 0.5

    oracle = logs[f"{record.id}-self-refine-max-rounds-1-oracle"]
    assert oracle.eval.solver == "redraft/strategy"
    assert oracle.eval.solver_args == {"spec": "self_refine[max_rounds=1]@oracle"}
    assert [s.metadata["oracle"] for s in oracle.samples] == [True, True]
    assert oracle.samples[0].scores["correct"].metadata["oracle"] is True
    assert "api_key" not in json.dumps(refine.eval.model_dump(mode="json"))


def test_exporting_needs_a_destination_and_an_evaluation(tmp_path) -> None:
    db = str(tmp_path / "runs.db")
    result = CliRunner().invoke(app, ["evals", "export", "e0", "--db", db])
    assert result.exit_code == 1 and "give --inspect DIR" in result.output
    result = CliRunner().invoke(app, ["evals", "export", "e0", "--inspect", str(tmp_path / "o"), "--db", db])
    assert result.exit_code == 1 and "no evaluation with id 'e0'" in result.output


def test_an_item_that_failed_is_a_sample_error_and_no_score(tmp_path) -> None:
    data = tmp_path / "sums.jsonl"
    data.write_text(
        json.dumps({"question": "What is 2+2?", "answer": "4"})
        + "\n"
        + json.dumps({"question": "What is 3+3?", "answer": "6"})
        + "\n"
    )

    def refuse_3_plus_3(body: dict[str, Any]) -> FakeReply:
        if "3+3" in body["messages"][-1]["content"]:
            return FakeReply(status=400, error_message="prompt refused")
        return FakeReply("The answer is 4.")

    store = RunStore(tmp_path / "runs.db")
    with serve(FakeOpenAIServer(respond=refuse_3_plus_3)) as fake:
        asyncio.run(
            aevaluate(
                f"jsonl:{data}",
                "direct",
                store=store,
                model=ModelConfig(model="gen-model", base_url=fake.base_url, api_key="sk-fake"),
            )
        )
    record = EvalStore(store).recent(1)[0]
    [path] = export_inspect(store, record.id, tmp_path / "logs")
    log = read_eval_log(str(path))
    assert log.samples is not None
    ok, failed = log.samples
    assert ok.scores is not None and ok.scores["correct"].value == "C" and ok.error is None
    assert failed.id == "sums/1" and failed.scores is None and not failed.events
    assert failed.error is not None and "prompt refused" in failed.error.message
    assert failed.metadata["status"] == "error" and failed.metadata["flips"]["first_to_final"] is None
    assert log.results is not None
    assert (log.results.total_samples, log.results.completed_samples) == (2, 1)
    assert log.results.scores[0].metrics["accuracy"].value == 1.0 and log.results.metadata["errors"] == 1


def test_an_exported_log_names_the_solver_that_would_run_the_strategy() -> None:
    shared = {"max_rounds": 2}  # `redraft eval -p max_rounds=2`: only strategies that have it took it
    assert solver_of("direct", shared) == ("redraft/direct", {})
    assert solver_of("self_refine[final=best_score]", shared) == (
        "redraft/self_refine",
        {"max_rounds": 2, "final": "best_score"},
    )
    assert solver_of("best_of_n[n=2]>self_refine@critic", shared) == (
        "redraft/strategy",
        {"spec": "best_of_n[n=2]>self_refine@critic", "max_rounds": 2},
    )

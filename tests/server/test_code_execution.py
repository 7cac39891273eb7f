"""A served spec that would run model-written code (ProgCo's python checker, `@tests`, reflexion)
is refused unless the operator allows it: a client's prompt steers what that code does."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from redraft.cli import app, serving  # noqa: F401  (register the command)
from redraft.strategies import build_strategy
from redraft.testing import FakeReply
from tests.server.conftest import raw

CHAT = "/chat/completions"
CHECKER = FakeReply("The answer is 4.\n```python\ndef verify(answer):\n    return answer == '4'\n```")


def chat(model: str) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": "What is 2 + 2?"}]}


@pytest.mark.parametrize(
    ("spec", "executes"),
    [
        ("direct", False),
        ("progco", False),  # the paper's ProgVe: the model executes its own pseudo-program
        ("progco[execution=python]", True),
        ("self_refine@tests", True),
        ("self_refine@program", True),
        ("reflexion", True),
        ("self_refine>progco[execution=python]", True),
        ("progco[execution=python]>self_refine", True),
        ("best_of_n[n=2]>self_refine", False),
        ("strategy_switch", True),  # program-of-thought runs in the sandbox
        ('strategy_switch[styles=["cot","ltm"]]', False),
    ],
)
def test_which_specs_execute_code(spec: str, executes: bool) -> None:
    assert build_strategy(spec).executes_code is executes


def test_a_code_running_spec_is_refused_by_default_before_any_upstream_call(served: Any) -> None:
    with served([CHECKER]) as s:
        for model in ("progco[execution=python]/fake-model", "self_refine@tests/fake-model"):
            response = raw("POST", s.v1 + CHAT, chat(model))
            assert response.status == 403
            error = response.json()["error"]
            assert error["code"] == "code_execution_disabled"
            assert "--allow-code-execution" in error["message"]
        extra = chat("fake-model") | {"redraft": {"strategy": "reflexion"}}
        assert raw("POST", s.v1 + CHAT, extra).status == 403
        assert raw("POST", s.v1 + CHAT, chat("progco/fake-model")).status == 200  # no code runs
        calls = len(s.upstream.requests)
    with served([CHECKER]) as s:
        anthropic = {
            "model": "progco[execution=python]/fake-model",
            "max_tokens": 50,
            "messages": [{"role": "user", "content": "What is 2 + 2?"}],
        }
        response = raw("POST", s.v1 + "/messages", anthropic)
        assert response.status == 403
        assert response.json()["error"]["type"] == "permission_error"
        assert s.upstream.requests == []
    assert calls > 0  # only the allowed progco reached the upstream


def test_the_operator_can_allow_it(served: Any) -> None:
    with served([CHECKER], allow_code_execution=True) as s:
        response = raw("POST", s.v1 + CHAT, chat("progco[execution=python,max_rounds=1]/fake-model"))
        assert response.status == 200, response.content
        run = s.store().get_run(response.headers["x-redraft-run-id"])
        assert run.strategy.startswith("progco")


def test_a_code_running_default_strategy_needs_the_flag() -> None:
    result = CliRunner().invoke(app, ["serve", "--strategy", "progco[execution=python]"])
    assert result.exit_code != 0
    assert "--allow-code-execution" in result.output

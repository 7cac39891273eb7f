"""The built-in benchmarks load from the shared data with stable ids and parsed references."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from redraft.tasks import TaskError, data_dir, get_task, list_tasks
from redraft.tasks.arithmetic import GSM8K, MultiArith
from redraft.tasks.data import DATA_DIR_ENV
from redraft.tasks.extract import parse_number


def test_gsm8k_loads_every_item_with_numeric_references() -> None:
    problems = GSM8K().load()
    assert len(problems) == 1319 == GSM8K().size()
    first = problems[0]
    assert first.id == "gsm8k/0"
    assert first.reference == "18"
    assert "Janet" in first.prompt and "The answer is N." in first.prompt
    assert first.metadata["question"].startswith("Janet")
    assert [p.id for p in problems[:3]] == ["gsm8k/0", "gsm8k/1", "gsm8k/2"]
    assert problems[1].reference == "3"
    assert all(parse_number(p.reference or "") is not None for p in problems)
    assert "," not in "".join(p.reference or "" for p in problems)
    assert len({p.id for p in problems}) == 1319


def test_multiarith_loads_every_item() -> None:
    # The README says 599: that is `wc -l`; the last line has no newline, so there are 600 records.
    problems = MultiArith().load()
    assert len(problems) == 600 == MultiArith().size()
    assert problems[0].id == "multiarith/0"
    assert problems[0].reference == "39"
    assert "Debby" in problems[0].prompt
    assert problems[-1].id == "multiarith/599"


def test_limit_takes_the_first_items() -> None:
    assert [p.id for p in GSM8K().load(limit=2)] == ["gsm8k/0", "gsm8k/1"]
    assert GSM8K().load(limit=0) == []


def test_numeric_scoring_on_a_real_problem() -> None:
    task = get_task("gsm8k")
    problem = task.load(1)[0]
    right = asyncio.run(task.score(problem, "9 eggs at $2 each is $18.\nThe answer is 18."))
    wrong = asyncio.run(task.score(problem, "The answer is 16."))
    nothing = asyncio.run(task.score(problem, "I do not know."))
    assert right.correct and right.extracted == "18" and right.reference == "18"
    assert not wrong.correct and wrong.extracted == "16"
    assert not nothing.correct and nothing.extracted is None
    assert task.extract("#### 18.00") == "18"


def test_data_dir_honours_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "gsm8k").mkdir()
    (tmp_path / "gsm8k" / "test.jsonl").write_text(
        '{"question": "1+1?", "answer": "1+1=2\\n#### 2"}\n', encoding="utf-8"
    )
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert data_dir() == tmp_path
    assert [p.reference for p in GSM8K().load()] == ["2"]
    with pytest.raises(TaskError, match="multiarith"):
        MultiArith().load()


def test_missing_data_dir_names_the_paths_tried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "nope"))
    with pytest.raises(TaskError, match="nope"):
        data_dir()
    monkeypatch.delenv(DATA_DIR_ENV)
    monkeypatch.chdir(tmp_path)
    import redraft.tasks.data as data

    monkeypatch.setattr(data, "__file__", str(tmp_path / "pkg" / "data.py"))
    with pytest.raises(TaskError) as err:
        data_dir()
    assert str(tmp_path / "shared" / "data") in str(err.value)
    assert DATA_DIR_ENV in str(err.value)


def test_registry_parses_specs(tmp_path: Path) -> None:
    assert get_task("gsm8k").name == "gsm8k"
    assert get_task(" MultiArith ").name == "multiarith"
    assert get_task("humaneval").answer_type == "code"
    path = tmp_path / "mine.jsonl"
    assert get_task(f"jsonl:{path}").name == f"jsonl:{path}"
    assert get_task(f"math_jsonl:{path}").answer_type == "math"
    assert get_task(f"multiple_choice:{path}").answer_type == "choice"
    assert get_task(f"open_ended:{path}").answer_type == "text"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("gsm9k", "unknown task 'gsm9k'; choose from: gsm8k, humaneval, jsonl:PATH, multiarith"),
        ("jsonl", "needs a file"),
        ("multiple_choice:", "needs a file"),
        ("gsm8k:foo.jsonl", "takes no path"),
    ],
)
def test_registry_errors_are_clear(spec: str, message: str) -> None:
    with pytest.raises(TaskError, match=message.replace(":", ".").replace("(", ".")):
        get_task(spec)


def test_task_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        get_task("nope")


def test_list_tasks_gives_sizes_where_known() -> None:
    infos = {info.name: info for info in list_tasks()}
    # rg (reasoning-gym) comes in through redraft's own entry point; generated, it has no fixed size.
    assert set(infos) == {"gsm8k", "multiarith", "humaneval", "jsonl", "multiple_choice", "open_ended", "rg"}
    assert infos["gsm8k"].size == 1319
    assert infos["multiarith"].size == 600
    assert infos["jsonl"].size is None and infos["jsonl"].needs_path
    assert infos["multiple_choice"].spec == "multiple_choice:PATH"
    assert infos["rg"].size is None and infos["rg"].spec == "rg:NAME[key=value,...]"
    assert all(info.description for info in infos.values())
    if infos["humaneval"].size is not None:
        assert infos["humaneval"].size == 164

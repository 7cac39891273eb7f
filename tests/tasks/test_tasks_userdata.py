"""User JSONL files: good ones load, bad ones fail naming the file, the line and the field."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from redraft.tasks import TaskError, get_task
from redraft.tasks.userdata import MathJsonlTask, MultipleChoiceTask, OpenEndedTask


def write(path: Path, *lines: Any) -> Path:
    path.write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines),
        encoding="utf-8",
    )
    return path


def test_math_jsonl_loads_and_scores(tmp_path: Path) -> None:
    path = write(
        tmp_path / "algebra.jsonl",
        {"question": "What is 1/2 + 1/4?", "answer": "\\frac{3}{4}"},
        "",
        {"problem": "How many legs do 3 cats have?", "answer": 12},
        {"id": "sq", "question": "Expand (x+1)^2.", "answer": "x^2+2x+1"},
    )
    task = get_task(f"jsonl:{path}")
    problems = task.load()
    assert [p.id for p in problems] == ["algebra/0", "algebra/1", "algebra/sq"]
    assert problems[1].reference == "12" and problems[1].metadata["line"] == 3
    assert "The answer is X." in problems[0].prompt and "1/2 + 1/4" in problems[0].prompt
    assert task.size() == 3
    assert task.extract("The answer is 12.0 legs") == "12"
    numeric = asyncio.run(task.score(problems[1], "3 cats * 4 legs = 12 legs. The answer is 12."))
    assert numeric.correct and numeric.extracted == "12"
    pytest.importorskip("math_verify")
    assert asyncio.run(task.score(problems[0], "The answer is 0.75.")).correct
    assert asyncio.run(task.score(problems[2], "\\boxed{(x+1)^2}")).correct
    assert not asyncio.run(task.score(problems[2], "\\boxed{x^2+1}")).correct


def test_bad_json_line_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.jsonl", {"question": "q", "answer": "1"}, '{"question": "q", ')
    with pytest.raises(TaskError, match=r"bad\.jsonl:2: not valid JSON"):
        MathJsonlTask(path).load()


def test_non_object_line_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path / "list.jsonl", [1, 2])
    with pytest.raises(TaskError, match=r"list\.jsonl:1: expected a JSON object, got list"):
        MathJsonlTask(path).load()


def test_missing_field_names_field_and_line(tmp_path: Path) -> None:
    path = write(tmp_path / "gaps.jsonl", {"question": "q", "answer": "1"}, {"question": "q2"})
    with pytest.raises(TaskError, match=r"gaps\.jsonl:2: missing field 'answer'"):
        MathJsonlTask(path).load()
    path = write(tmp_path / "noq.jsonl", {"answer": "1"})
    with pytest.raises(TaskError, match=r"noq\.jsonl:1: missing field 'question' or 'problem'"):
        MathJsonlTask(path).load()


def test_empty_answer_and_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.jsonl", {"question": "q", "answer": "  "})
    with pytest.raises(TaskError, match=r"empty\.jsonl:1: field 'answer'"):
        MathJsonlTask(path).load()
    path = write(tmp_path / "dup.jsonl", {"id": 1, "question": "q", "answer": "1"},
                 {"id": 1, "question": "q", "answer": "2"})
    with pytest.raises(TaskError, match=r"dup\.jsonl:2: duplicate id '1' \(first on line 1\)"):
        MathJsonlTask(path).load()


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="nothere.jsonl"):
        get_task(f"jsonl:{tmp_path / 'nothere.jsonl'}").load()


def test_not_utf8_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"question": "caf\u00e9", "answer": "1"}\n'.encode("latin-1"))
    with pytest.raises(TaskError, match="not UTF-8"):
        MathJsonlTask(path).load()


def test_limit_stops_before_later_bad_lines(tmp_path: Path) -> None:
    path = write(tmp_path / "tail.jsonl", {"question": "q", "answer": "1"}, "not json")
    assert len(MathJsonlTask(path).load(limit=1)) == 1


def test_multiple_choice_with_a_list(tmp_path: Path) -> None:
    path = write(
        tmp_path / "mc.jsonl",
        {"question": "Capital of France?", "options": ["Berlin", "Paris", "Rome"], "answer": "B"},
        {"question": "2+2?", "options": {"a": "3", "b": "4"}, "answer": "(b)"},
        {"question": "Largest planet?", "options": ["Mars", "Jupiter"], "answer": "Jupiter"},
    )
    task = get_task(f"multiple_choice:{path}")
    problems = task.load()
    assert "A) Berlin\nB) Paris\nC) Rome" in problems[0].prompt
    assert "The answer is (X)." in problems[0].prompt
    assert [p.reference for p in problems] == ["B", "B", "B"]
    assert problems[1].metadata["options"] == {"A": "3", "B": "4"}
    right = asyncio.run(task.score(problems[0], "Paris is the capital. The answer is (B)."))
    wrong = asyncio.run(task.score(problems[0], "The answer is (C)."))
    out_of_range = asyncio.run(task.score(problems[1], "The answer is (C)."))
    assert right.correct and right.extracted == "B"
    assert not wrong.correct and wrong.extracted == "C"
    assert not out_of_range.correct and out_of_range.extracted is None


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"question": "q", "options": ["x", "y"], "answer": "E"}, "field 'answer' is 'E', not one of A, B"),
        ({"question": "q", "options": "x, y", "answer": "A"}, "field 'options' must be a list"),
        ({"question": "q", "options": ["only"], "answer": "A"}, "must have 2 to 10 options"),
        ({"question": "q", "options": {"1": "x", "2": "y"}, "answer": "A"}, "not letters A-J"),
        ({"question": "q", "answer": "A"}, "missing field 'options'"),
    ],
)
def test_multiple_choice_errors(tmp_path: Path, record: dict[str, Any], message: str) -> None:
    path = write(tmp_path / "mc.jsonl", record)
    with pytest.raises(TaskError, match=rf"mc\.jsonl:1: .*{message}"):
        MultipleChoiceTask(path).load()


def test_open_ended_keeps_the_checklist_and_needs_a_judge_to_score(tmp_path: Path) -> None:
    path = write(
        tmp_path / "essays.jsonl",
        {"prompt": "Write a haiku about rain.", "checklist": ["5-7-5 syllables", "mentions rain"]},
        {"prompt": "Explain recursion to a child."},
    )
    task = get_task(f"open_ended:{path}")
    problems = task.load()
    assert problems[0].prompt == "Write a haiku about rain."
    assert problems[0].metadata["checklist"] == ["5-7-5 syllables", "mentions rain"]
    assert problems[1].metadata["checklist"] == [] and problems[1].reference is None
    assert task.judge == "checklist[threshold=1.0,role=judge]"
    with pytest.raises(TaskError, match="graded by their judge"):
        asyncio.run(task.score(problems[0], "Rain falls..."))
    from redraft.runs.scoring import Scorer

    with pytest.raises(TaskError, match=r"graded by a judge model \(checklist.*none is bound"):
        Scorer(task, None)


def test_open_ended_is_scored_by_its_judge_on_its_checklist(tmp_path: Path) -> None:
    from redraft.models.managed import ManagedModel
    from redraft.models.scripted import ScriptedModel
    from redraft.runs.scoring import Scorer

    path = write(tmp_path / "essays.jsonl",
                 {"prompt": "Write a haiku about rain.", "checklist": ["5-7-5 syllables", "mentions rain"]})
    task = get_task(f"open_ended:{path}")
    [problem] = task.load()
    judge = ScriptedModel(["1. yes\n2. yes", "1. no\n2. yes", "no idea"])
    scorer = Scorer(task, ManagedModel(judge), sampling={"max_tokens": 64})
    right = asyncio.run(scorer.score(problem, "Rain on the roof..."))
    wrong = asyncio.run(scorer.score(problem, "Sunny day."))
    unreadable = asyncio.run(scorer.score(problem, "..."))
    assert asyncio.run(scorer.score(problem, "Sunny day.")) == wrong  # scored once per text
    assert (right.correct, right.extracted) == (True, "1.00")
    assert (wrong.correct, wrong.extracted) == (False, "0.50")
    assert not unreadable.correct and "could not be read" in unreadable.explanation
    assert "mentions rain" in judge.history[0][0][0]["content"]
    # max_tokens raised from the scorer's 64 to the judging floor (the checklist answer comes last).
    assert [h[1] for h in judge.history] == [{"temperature": 0.0, "max_tokens": 768}] * 3
    assert scorer.usage.calls == 3 and scorer.ctx is not None
    assert set(scorer.ctx.usage_by_role) == {"judge"}


def test_field_names_of_user_files_are_spec_parameters(tmp_path: Path) -> None:
    path = write(tmp_path / "ds.jsonl", {"uid": "a", "problem_text": "1+1?", "solution": "2"})
    task = get_task(f"jsonl:{path}[question=problem_text,answer=solution,id=uid]")
    [problem] = task.load()
    assert problem.id == "ds/a" and problem.reference == "2" and "1+1?" in problem.prompt
    with pytest.raises(TaskError, match=r"ds\.jsonl:1: missing field 'question' or 'problem'"):
        get_task(f"jsonl:{path}").load()
    with pytest.raises(TaskError, match="task jsonl has no parameter questoin"):
        get_task(f"jsonl:{path}[questoin=x]")
    choice = write(tmp_path / "aqua.jsonl", {"question": "2+3?", "options": ["A)4", "B)5", "C)6"],
                                              "correct": "B"})
    [mc] = get_task(f"multiple_choice:{choice}[answer=correct]").load()
    assert mc.reference == "B" and mc.metadata["options"] == {"A": "4", "B": "5", "C": "6"}
    assert "B) 5" in mc.prompt and "B)5" not in mc.prompt and "A) A)" not in mc.prompt
    mixed = write(tmp_path / "mixed.jsonl", {"question": "q", "options": ["A)4", "5"], "answer": "A"})
    [kept] = get_task(f"multiple_choice:{mixed}").load()
    assert kept.metadata["options"] == {"A": "A)4", "B": "5"}  # not every option is lettered: kept as is
    essays = write(tmp_path / "e.jsonl", {"task": "Write.", "rubric": ["short"]})
    [essay] = get_task(f"open_ended:{essays}[prompt=task,checklist=rubric,threshold=0.5]").load()
    assert essay.prompt == "Write." and essay.metadata["checklist"] == ["short"]


def test_open_ended_rejects_a_bad_checklist(tmp_path: Path) -> None:
    path = write(tmp_path / "oe.jsonl", {"prompt": "p", "checklist": "be nice"})
    with pytest.raises(TaskError, match=r"oe\.jsonl:1: field 'checklist' must be a list of strings"):
        OpenEndedTask(path).load()

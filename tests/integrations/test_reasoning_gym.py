"""reasoning-gym tasks on real generated items: specs, seeds, extraction, exact-1.0 scoring, and
scorers that raise or give partial credit."""

from __future__ import annotations

import asyncio

import pytest

pytest.importorskip("reasoning_gym")  # the [gym] extra; CI installs it (`.[all]`)

import reasoning_gym  # noqa: E402

import redraft.integrations.reasoning_gym  # noqa: E402, F401  (registers `rg` without the entry point)
from redraft.integrations.reasoning_gym import ReasoningGymTask  # noqa: E402
from redraft.tasks import get_task  # noqa: E402
from redraft.tasks.base import TaskError  # noqa: E402


def score(task, problem, text):
    return asyncio.run(task.score(problem, text))


def test_a_spec_builds_the_dataset_with_its_own_config_and_a_fixed_seed() -> None:
    task = get_task("rg:chain_sum[min_terms=2,max_terms=4]")
    problems = task.load(limit=5)
    expected = reasoning_gym.create_dataset("chain_sum", min_terms=2, max_terms=4, seed=0)
    assert [p.reference for p in problems] == [expected[i]["answer"] for i in range(5)]
    assert expected[0]["question"] in problems[0].prompt and "<answer>" in problems[0].prompt
    prefix = problems[0].id.rsplit("/", 2)[0]
    assert [p.id for p in problems[:2]] == [f"{prefix}/0/0", f"{prefix}/0/1"]
    # Another config draws other problems at the same seed and index: its ids differ too.
    assert prefix.startswith("rg:chain_sum~") and get_task("rg:chain_sum").load(1)[0].id == "rg:chain_sum/0/0"
    assert get_task("rg:chain_sum[min_terms=3]").load(1)[0].id != problems[0].id
    assert task.size() == 500  # reasoning-gym's default size; --limit takes the first N
    # The same spec loads the same problems every time (reasoning-gym's own default seed is None).
    assert [p.prompt for p in get_task("rg:chain_sum[min_terms=2,max_terms=4]").load(5)] == [
        p.prompt for p in problems]


def test_the_evaluation_seed_draws_other_problems_unless_the_spec_fixes_one() -> None:
    base = get_task("rg:basic_arithmetic")
    seeded = base.with_seed(7)
    assert seeded.load(1)[0].id == "rg:basic_arithmetic/7/0"
    assert [p.prompt for p in seeded.load(3)] != [p.prompt for p in base.load(3)]
    fixed = get_task("rg:basic_arithmetic[seed=3]")
    assert fixed.with_seed(7) is fixed and fixed.load(1)[0].id == "rg:basic_arithmetic/3/0"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("rg:no_such_dataset", "no dataset 'no_such_dataset'"),
        ("rg:chain_sum[bogus=2]", "bogus"),
        ("rg:chain_sum[min_terms=0]", "min_terms must be positive"),
        ("rg", "needs a dataset name"),
    ],
)
def test_bad_specs_are_clear_errors(spec: str, message: str) -> None:
    with pytest.raises(TaskError, match=message):
        get_task(spec)


def test_only_an_exact_score_of_one_is_correct_partial_credit_is_wrong() -> None:
    task = get_task("rg:chain_sum[seed=1]")
    problem = task.load(1)[0]
    assert problem.reference == "-4"
    dataset = reasoning_gym.create_dataset("chain_sum", seed=1)
    # reasoning-gym's own scorer, given the whole reply, gives partial credit:
    assert dataset.score_answer("The answer is -4", dataset[0]) == 0.125
    right = score(task, problem, "Adding up... The answer is -4.")
    assert right.correct and right.extracted == "-4"
    tagged = score(task, problem, "Maybe 3? No. <answer>3</answer> ... final: <answer>-4</answer>")
    assert tagged.correct and tagged.extracted == "-4"
    wrong = score(task, problem, "<answer>5</answer>")
    assert not wrong.correct and "score 0" in wrong.explanation
    none = score(task, problem, "I am not sure.")
    assert not none.correct and none.extracted is None


def test_countdown_partial_credit_for_any_expression_is_wrong() -> None:
    task = get_task("rg:countdown")
    problem = task.load(1)[0]
    dataset = reasoning_gym.create_dataset("countdown", seed=0)
    assert 0 < dataset.score_answer("1 + 1", dataset[0]) < 1  # the scorer's partial credit
    assert not score(task, problem, "<answer>1 + 1</answer>").correct
    assert score(task, problem, f"<answer>{problem.reference}</answer>").correct


def test_a_scorer_that_raises_on_junk_scores_wrong_and_says_why() -> None:
    task = get_task("rg:prime_factorization")
    problem = task.load(1)[0]
    junk = score(task, problem, "<answer>two times three</answer>")
    assert not junk.correct and "raised ValueError" in junk.explanation
    assert score(task, problem, f"<answer>{problem.reference}</answer>").correct
    boxnet = get_task("rg:boxnet")
    assert "raised TypeError" in score(boxnet, boxnet.load(1)[0], "The answer is -4").explanation


def test_a_reloaded_problem_grades_from_its_own_metadata() -> None:
    """Scoring regenerates the item from the problem (dataset, config, index), so a problem scored
    by a task built from another seed (a resumed evaluation, an export) grades the same."""
    first = get_task("rg:mini_sudoku").with_seed(5)
    problem = first.load(2)[1]
    other = get_task("rg:mini_sudoku")
    assert score(other, problem, f"<answer>{problem.reference}</answer>").correct
    broken = problem.model_copy(update={"metadata": {}})
    with pytest.raises(TaskError, match="no reasoning-gym item"):
        score(other, broken, "<answer>1</answer>")


def test_listed_as_a_family() -> None:
    from redraft.tasks.registry import list_tasks

    [info] = [t for t in list_tasks() if t.name == "rg"]
    assert info.spec == "rg:NAME[key=value,...]"
    assert "countdown" in info.description and "mini_sudoku" in info.description
    assert ReasoningGymTask.answer_type == "text"


def test_an_evaluation_on_generated_problems_with_its_seed_resumes_on_the_same_ones(tmp_path) -> None:
    from redraft.models.managed import ManagedModel
    from redraft.models.scripted import ScriptedModel
    from redraft.report.summary import summarize
    from redraft.runs.evaluation import EvalConfig, Evaluation
    from redraft.runs.store import RunStore

    problems = get_task("rg:chain_sum").with_seed(11).load(4)

    def reply(messages):  # right on the even items, a partial-credit-worthy near miss on the odd
        index = next(i for i, p in enumerate(problems) if p.prompt == messages[-1]["content"])
        answer = problems[index].reference if index % 2 == 0 else f"{problems[index].reference}0"
        return f"Adding the terms. <answer>{answer}</answer>"

    store = RunStore(tmp_path / "runs.db")
    config = EvalConfig(task="rg:chain_sum", strategies=["direct"], limit=4, seed=11, cache=False)
    first = Evaluation(config, store, models={"generator": ManagedModel(ScriptedModel(reply))})
    asyncio.run(first.run())
    summary, items = summarize(store, first.eval_id)
    assert sorted(i.problem_id for i in items["direct"]) == [f"rg:chain_sum/11/{i}" for i in range(4)]
    assert {i.problem_id: i.correct for i in items["direct"]} == {
        f"rg:chain_sum/11/{i}": i % 2 == 0 for i in range(4)}
    resumed = Evaluation(config, store, eval_id=first.eval_id,
                         models={"generator": ManagedModel(ScriptedModel(reply))})
    assert [p.id for p in resumed.problems] == [p.id for p in problems] and resumed.pending() == []

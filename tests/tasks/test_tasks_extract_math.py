"""Symbolic answers: the last \\boxed{} (nested braces), else the marked expression."""

from __future__ import annotations

import pytest

from redraft.tasks.extract import extract_math, last_boxed
from redraft.tasks.mathcheck import math_equal, score_math

CASES: list[tuple[str, str | None]] = [
    ("So the result is $\\boxed{\\frac{1}{2}}$.", "\\frac{1}{2}"),
    ("Expanding, we get \\boxed{x^2+2x+1}", "x^2+2x+1"),
    ("\\boxed{1} at first, but finally \\boxed{2}", "2"),
    ("\\boxed{\\sqrt{\\frac{a}{b}}}", "\\sqrt{\\frac{a}{b}}"),
    ("\\boxed{x^{2}+\\frac{1}{x^{3}}}", "x^{2}+\\frac{1}{x^{3}}"),
    ("\\boxed {42}", "42"),
    ("\\fbox{7}", "7"),
    ("$$\\boxed{\\left(\\frac{1}{2}, 3\\right)}$$", "\\left(\\frac{1}{2}, 3\\right)"),
    ("\\boxed{\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}}", "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}"),
    ("The answer is $\\frac{\\pi}{4}$.", "\\frac{\\pi}{4}"),
    ("The answer is \\(\\sqrt{2}\\).", "\\sqrt{2}"),
    ("Final Answer: \\(\\sqrt{2}/2\\)", "\\sqrt{2}/2"),
    ("Final answer: $x = 5$", "x = 5"),
    ("**Final Answer**\n\n$3\\sqrt{3}$", "3\\sqrt{3}"),
    ("The final answer is $-\\frac{3}{2}$. I hope it is correct.", "-\\frac{3}{2}"),
    ("Answer: (x+1)^2", "(x+1)^2"),
    ("The answer is 18 apples.", "18"),
    ("The answer is sin(2x).", "sin(2x)"),
    ("After simplifying, 2 + 3 = 5", "5"),
    ("The answer is \\{1, 2, 3\\}.", "\\{1, 2, 3\\}"),
    ("We have $y = 2x + 3$, so the answer is $2x+3$.", "2x+3"),
    ("<think>\\boxed{3}</think>The answer is \\boxed{4}.", "4"),
    ("The answer is $[1, 3)$", "[1, 3)"),
    ("So $\\boxed{\\text{(B)}}$", "\\text{(B)}"),
    ("The answer is: $\\dfrac{7}{8}$", "\\dfrac{7}{8}"),
    ("\\boxed{10\\%}", "10\\%"),
    ("The answer is $\\infty$.", "\\infty"),
    ("Hence the answer is $e^{i\\pi}$", "e^{i\\pi}"),
    ("no idea", None),
    ("Thus \\boxed{2\\sqrt{3}}", "2\\sqrt{3}"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_extract_math(text: str, expected: str | None) -> None:
    assert extract_math(text) == expected


def test_table_is_large() -> None:
    assert len(CASES) >= 30


def test_unclosed_boxed_falls_back_to_an_earlier_one() -> None:
    assert last_boxed("\\boxed{1} then \\boxed{2") == "1"
    assert last_boxed("nothing boxed") is None


@pytest.mark.parametrize(
    ("reference", "answer", "equal"),
    [
        ("\\frac{1}{2}", "0.5", True),
        ("0.5", "\\frac{1}{2}", True),
        ("(x+1)^2", "x^2+2x+1", True),
        ("x^2+2x+1", "x^2+2x+2", False),
        ("\\frac{\\sqrt{2}}{2}", "\\sqrt{2}/2", True),
        ("5", "x = 5", True),
        ("18", "18 \\text{ dollars}", True),
        ("2", "2\\sqrt{3}", False),
        ("\\pi", "3.14", False),
        ("[1, 3]", "[1, 3)", False),
        ("Paris", "paris", True),
        ("3", "4", False),
    ],
)
def test_math_equal(reference: str, answer: str, equal: bool) -> None:
    pytest.importorskip("math_verify")
    assert math_equal(reference, answer) is equal


def test_math_equal_works_off_the_main_thread() -> None:
    """math-verify's signal timeout only works on the main thread; the wrapper avoids it."""
    pytest.importorskip("math_verify")
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(math_equal, "\\frac{1}{2}", "x/2 + 1/2 - x/2").result() is True


def test_score_math_reports_how_it_compared() -> None:
    pytest.importorskip("math_verify")
    numeric = score_math("18", "The answer is 18.0")
    assert numeric.correct and numeric.extracted == "18" and "numbers" in numeric.explanation
    symbolic = score_math("(x+1)^2", "so \\boxed{x^2+2x+1}")
    assert symbolic.correct and symbolic.extracted == "x^2+2x+1"
    missing = score_math("1", "I give up")
    assert not missing.correct and missing.extracted is None

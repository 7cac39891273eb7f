"""Option letters come from explicit markers before any stray capital letter."""

from __future__ import annotations

import pytest

from redraft.tasks.extract import extract_choice

CASES: list[tuple[str, str | None]] = [
    ("The answer is (B)", "B"),
    ("B) because the mitochondria produce ATP.", "B"),
    ("Answer: c", "C"),
    ("**B**", "B"),
    ("I choose option D.", "D"),
    ("A man walks into a bar, so it is not about animals. The answer is C.", "C"),
    ("A man walks into a bar. Therefore **C** is correct.", "C"),
    ("The answer is a bit tricky, but I would say C", "C"),
    ("Let's analyze each option:\nA) wrong\nB) wrong\nC) right\n\nThe correct answer is (C).", "C"),
    ("The correct option is D.", "D"),
    ("Final answer: **E**", "E"),
    ("The answer is $\\boxed{B}$", "B"),
    ("\\boxed{(D)}", "D"),
    ("The answer is: J", "J"),
    ("I'd go with B.", "B"),
    ("I pick (A) since the others are wrong.", "A"),
    ("Option B is correct because water boils at 100 C.", "B"),
    ("Paris is the capital, so the answer is (a).", "A"),
    ("The best choice is C", "C"),
    ("D", "D"),
    ("(C)", "C"),
    ("C. Paris", "C"),
    ("After careful thought:\n\nB\n", "B"),
    ("Thinking... A is wrong, B is wrong.\nAnswer: D) 42", "D"),
    ("A) is incorrect. The answer is B.", "B"),
    ("I think the correct answer is choice (C).", "C"),
    ("Answer: [B]", "B"),
    ("answer is d.", "D"),
    ("I am not sure about this one.", None),
    ("", None),
    ("<think>Maybe (A)...</think>The answer is (B).", "B"),
    ("Hence, the answer is **(B) 24 hours**.", "B"),
    ("Among the options, I select B.", "B"),
    ("**Answer: C**", "C"),
    ("The answer is A because it is the largest.", "A"),
    ("I choose A since the others are too small.", "A"),
    ("I think B is wrong. I believe the answer is D", "D"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_extract_choice(text: str, expected: str | None) -> None:
    assert extract_choice(text) == expected


def test_table_is_large() -> None:
    assert len(CASES) >= 30


def test_letters_outside_the_options_are_ignored() -> None:
    assert extract_choice("The answer is (E).", letters="ABCD") is None
    assert extract_choice("E is tempting, but the answer is (E). No: B", letters="ABCD") == "B"

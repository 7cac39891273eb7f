"""The injected error: the first worked-out number plus one, the solution cut after its step."""

from __future__ import annotations

import pytest

from redraft.strategies.corruption import Corruption, corrupt

CANDY = (
    "Debby had 32 pieces of candy while her sister had 42. If they ate 35 pieces the first night, "
    "how many pieces do they have left?"
)


def test_the_first_number_not_in_the_problem_is_made_one_more_and_the_rest_cut() -> None:
    solution = (
        "Debby and her sister had 32 + 42 = 74 pieces.\nAfter eating 35, they had 74 - 35 = 39 left.\n"
        "The answer is 39."
    )
    assert corrupt(solution, CANDY) == Corruption(
        original="74", injected="75", position=35, prefix="Debby and her sister had 32 + 42 = 75 pieces."
    )


@pytest.mark.parametrize(
    ("solution", "original", "injected", "prefix"),
    [
        # Step labels are not steps; the step ends at the line break.
        (
            "1. Together: 32 + 42 = 74\n2. Left: 74 - 35 = 39\nThe answer is 39.",
            "74",
            "75",
            "1. Together: 32 + 42 = 75",
        ),
        (
            "**Step 1:** 32 + 42 = 74 pieces in all. Then 74 - 35 = 39.",
            "74",
            "75",
            "**Step 1:** 32 + 42 = 75 pieces in all.",
        ),
        # Thousands separators and decimals are kept; a decimal point does not end the step.
        ("They had 32 + 42 = 1,999 pieces? No.", "1,999", "2,000", "They had 32 + 42 = 2,000 pieces?"),
        (
            "Each costs 2.50 dollars, so 42 cost more. Then",
            "2.50",
            "3.50",
            "Each costs 3.50 dollars, so 42 cost more.",
        ),
        # A step running into the answer statement is cut where the answer starts.
        ("So 32 + 42 = 74, and the answer is 39.", "74", "75", "So 32 + 42 = 75, and the"),
        # Values, not spellings: 32.0 is the problem's 32; a number inside a word is no number.
        ("H2O aside, 32.0 + 42 = 74 in all.", "74", "75", "H2O aside, 32.0 + 42 = 75 in all."),
    ],
)
def test_corruption_rules(solution: str, original: str, injected: str, prefix: str) -> None:
    found = corrupt(solution, CANDY)
    assert found is not None
    assert (found.original, found.injected, found.prefix) == (original, injected, prefix)
    assert solution[found.position : found.position + len(original)] == original


@pytest.mark.parametrize(
    "solution",
    [
        "They had 32 and 42 and ate 35. The answer is 39.",  # every step number is the problem's
        "Some reasoning. The answer is 39.",  # the only number is the answer
        "Adding and subtracting gives the rest.",  # no number at all
        "Step 3: 32 + 42 - 35.\n#### 39",
    ],
)
def test_no_corruptible_number_is_none(solution: str) -> None:
    assert corrupt(solution, CANDY) is None

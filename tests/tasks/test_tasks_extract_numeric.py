"""Numeric answers are read from marked places first, then from the last number."""

from __future__ import annotations

import pytest

from redraft.tasks.extract import extract_number, numbers_equal, parse_number

CASES: list[tuple[str, str | None]] = [
    ("Janet has 16 - 3 - 4 = 9 eggs left. She makes 9 * 2 = $18.\nThe answer is 18.", "18"),
    ("The answer is 1,234.", "1234"),
    ("So the total is $\\boxed{42}$.", "42"),
    ("First 3 + 4 = 7, then 7 * 6 = 42.\n#### 42", "42"),
    ("**Answer:** $1,234.50", "1234.5"),
    ("She picked 42 apples in total.", "42"),
    ("Each ticket costs $12", "12"),
    ("He earns 12 dollars an hour.", "12"),
    ("The discount is 15%", "15"),
    ("The temperature dropped to -7 degrees.\nThe answer is -7.", "-7"),
    ("She ran 2.5 miles on Monday and 3.25 miles on Tuesday, 5.75 in all.", "5.75"),
    ("So she drank 3/4 of the bottle.\nThe answer is 3/4.", "0.75"),
    ("Answer: 42\n\n(Step 1 used 5 apples and step 2 used 6 pears.)", "42"),
    ("She had 5 apples and bought 7 more. Answer: 12. I hope 100% of this helps!", "12"),
    ("The answer is 16 - 3 - 4 = 9.", "9"),
    ("There are 1,000,000 grains in the jar.", "1000000"),
    ("The final answer is $\\boxed{\\frac{3}{4}}$", "0.75"),
    ("The answer is: 18.0", "18"),
    ("\\boxed{18} is what I get, but the answer is 20.", "18"),
    ("Step 1: 20 / 4 = 5\nStep 2: 5 * 3 = 15\n#### 15\nThe answer is 17.", "15"),
    ("The answer is twelve.", "12"),
    ("I think it's about 7 boxes.\n\n**Final Answer**\n\n8", "8"),
    ("The final answer is 3.", "3"),
    ("She needs 1 1/2 cups of flour, so the answer is 1 1/2.", "1.5"),
    ("Therefore, the answer is $\\boxed{\\$1{,}250}$.", "1250"),
    ("<think>Maybe 7? No, 8.</think>\nThe answer is 8.", "8"),
    ("x = -5", "-5"),
    ("The difference is 10-3=7", "7"),
    ("The answer is \u22124", "-4"),
    ("The answer is 0.5 liters.", "0.5"),
    ("Total = 3 * $4.00 = $12.00\nThe answer is $12.00.", "12"),
    ("The answer is 5. It took 3 hours.", "5"),
    ("I cannot determine that.", None),
    ("", None),
    ("\\boxed{\\text{18 dollars}}", "18"),
    ("The answer is: **70**", "70"),
    ("The answer to the question is 64 marbles.", "64"),
    ("She saves $2,400 a year.\n\nAnswer = 2,400", "2400"),
    ("Final answer: .5", "0.5"),
    ("So 60/2 = 30 minutes per lap.", "30"),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_extract_number(text: str, expected: str | None) -> None:
    assert extract_number(text) == expected


def test_table_is_large() -> None:
    assert len(CASES) >= 30


@pytest.mark.parametrize(
    ("a", "b", "equal"),
    [
        ("18.0", "18", True),
        ("18", "18", True),
        ("0.75", "3/4", True),
        ("1,234", "1234", True),
        ("$12", "12", True),
        ("1000000", "1000000.0000001", True),
        ("0.3333", "1/3", False),
        ("0.333333333", "1/3", True),
        ("-4", "4", False),
        ("18", "19", False),
        ("0", "0.0", True),
        ("18", None, False),
        ("eighteen", "18", False),
        ("\\frac{1}{2}", "0.5", True),
    ],
)
def test_numbers_equal(a: str, b: str | None, equal: bool) -> None:
    assert numbers_equal(a, b) is equal


@pytest.mark.parametrize("text", ["18 apples", "x", "", "1/0", "1.2.3"])
def test_parse_number_is_strict(text: str) -> None:
    assert parse_number(text) is None

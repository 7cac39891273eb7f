"""Code comes out of markdown fences; raw text is code when there is no fence."""

from __future__ import annotations

import pytest

from redraft.tasks.extract import extract_code

FULL = "def add(a, b):\n    return a + b"
CASES: list[tuple[str, str | None, str]] = [
    (f"```python\n{FULL}\n```", None, FULL),
    (f"Here you go:\n\n```python\n{FULL}\n```\n\nThis adds two numbers.", None, FULL),
    (f"```py\n{FULL}\n```", None, FULL),
    (f"```Python\n{FULL}\n```", None, FULL),
    (f"```python3\n{FULL}\n```", None, FULL),
    (f"```\n{FULL}\n```", None, FULL),
    (f"~~~python\n{FULL}\n~~~", None, FULL),
    (f"````python\n{FULL}\n````", None, FULL),
    (FULL, None, FULL),
    (f"\n\n{FULL}\n\n", None, FULL),
    ("    return a + b\n", None, "    return a + b"),
    ("    total = 0\n    for x in xs:\n        total += x\n    return total",
     None, "    total = 0\n    for x in xs:\n        total += x\n    return total"),
    (f"```python\n{FULL}\n```\n\nExample:\n```python\nprint(add(1, 2))\n```", "add", FULL),
    (f"```python\nprint(add(1, 2))\n```\n```python\n{FULL}\n```", "add", FULL),
    (f"```python\n{FULL}\n```\n```python\nprint(add(1, 2))\n```", None, FULL),
    (f"```bash\npip install numpy\n```\n```python\n{FULL}\n```", None, FULL),
    (f"```python\n{FULL}", None, FULL),  # truncated reply, fence never closed
    (f"```python\n{FULL}\n```\n```python\ndef add(a, b):\n    return b + a\n```",
     "add", "def add(a, b):\n    return b + a"),
    ("```python\nimport math\n\ndef area(r):\n    return math.pi * r ** 2\n```", "area",
     "import math\n\ndef area(r):\n    return math.pi * r ** 2"),
    ("```python\nasync def fetch():\n    return 1\n```", "fetch", "async def fetch():\n    return 1"),
    ("```python\nclass A:\n    pass\n```", None, "class A:\n    pass"),
    ("```python\n    return sorted(xs)\n```", "sort_it", "    return sorted(xs)"),
    ("Sure! ```python\ndef f():\n    return 1\n```", "f", "def f():\n    return 1"),
    ("```python\ndef f():\n    return 1```", "f", "def f():\n    return 1"),
    ("```text\nhello\n```", None, "hello"),
    ("```python title=solution.py\ndef f():\n    pass\n```", None, "def f():\n    pass"),
    ("<think>let me write it</think>\n```python\ndef f():\n    pass\n```", None, "def f():\n    pass"),
    ("```python\n\ndef f():\n    pass\n\n\n```", None, "\ndef f():\n    pass"),
    ("```python\ndef g():\n    pass\n```\n"
     "```python\ndef helper():\n    return 'a much longer helper body'\n```",
     None, "def helper():\n    return 'a much longer helper body'"),
    ("```python\ndef f(x):\n    s = '```'\n    return s\n```", "f", "def f(x):\n    s = '```'\n    return s"),
    ("The function:\n```python\ndef is_even(n):\n    return n % 2 == 0\n```\n"
     "Tests:\n```\n>>> is_even(2)\nTrue\n```",
     "is_even", "def is_even(n):\n    return n % 2 == 0"),
]


@pytest.mark.parametrize(("text", "entry_point", "expected"), CASES)
def test_extract_code(text: str, entry_point: str | None, expected: str) -> None:
    assert extract_code(text, entry_point) == expected


def test_table_is_large() -> None:
    assert len(CASES) >= 30

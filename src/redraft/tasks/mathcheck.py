"""Symbolic answer checking with math-verify, behind a small, thread-safe wrapper.

math-verify knows that `\\frac{1}{2}` is 0.5 and `(x+1)^2` is `x^2+2x+1`, which
string or number comparison never will. It is imported lazily so the numeric
tasks work without it, and its signal-based timeout is only used on the main
thread (elsewhere it raises), so scoring can also run in worker threads.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from redraft.tasks.base import Score, TaskError
from redraft.tasks.extract import extract_math, format_number, numbers_equal, parse_number

_TIMEOUT_S = 5


def _math_verify() -> tuple[Any, Any]:
    try:
        from math_verify import parse, verify
    except ImportError:  # pragma: no cover - depends on the environment
        raise TaskError(
            "symbolic answers need the math-verify package: pip install math-verify"
        ) from None
    return parse, verify


def _as_latex(expr: str) -> str:
    """Give math-verify an anchor to extract from: `$expr$` unless already delimited."""
    if "$" in expr or "\\boxed" in expr or "\\(" in expr or "\\[" in expr:
        return expr
    return f"${expr}$"


def _plain(text: str) -> str:
    """Loose string form for answers math-verify cannot parse ("Paris", "(B)")."""
    text = re.sub(r"\\text\{([^{}]*)\}", r"\1", text)
    return re.sub(r"\s+", " ", text.strip().strip("$").strip().rstrip(".")).casefold()


def math_equal(reference: str, answer: str) -> bool:
    """Whether `answer` is mathematically the same as `reference`.

    Numbers are compared as numbers first; then math-verify decides; when it can
    parse neither side, the loose strings must match.
    """
    if numbers_equal(reference, answer) or _plain(reference) == _plain(answer):
        return True
    parse, verify = _math_verify()
    main = threading.current_thread() is threading.main_thread()
    timeout = _TIMEOUT_S if main else None
    gold = parse(_as_latex(reference), parsing_timeout=timeout)
    pred = parse(_as_latex(answer), parsing_timeout=timeout)
    if not gold or not pred:
        return False
    return bool(verify(gold, pred, timeout_seconds=timeout))


def normalize_answer(expr: str | None) -> str | None:
    """A canonical form for voting: numbers as "18", anything else stripped."""
    if expr is None:
        return None
    value = parse_number(expr)
    return format_number(value) if value is not None else expr.strip()


def score_math(reference: str, text: str) -> Score:
    """Score a reply against a numeric or symbolic reference answer."""
    extracted = normalize_answer(extract_math(text))
    if extracted is None:
        return Score(correct=False, reference=reference, explanation="no answer found in the output")
    if parse_number(reference) is not None and parse_number(extracted) is not None:
        correct = numbers_equal(reference, extracted)
        how = "compared as numbers"
    else:
        correct = math_equal(reference, extracted)
        how = "compared symbolically"
    verdict = "matches" if correct else "does not match"
    return Score(
        correct=correct,
        extracted=extracted,
        reference=reference,
        explanation=f"{extracted!r} {verdict} {reference!r} ({how})",
    )

"""Reading final answers out of free model text.

Models bury the answer in reasoning, so every extractor prefers explicit markers
over position: a `\\boxed{}` beats a `#### N` line, which beats "the answer is",
which beats the last number. Everything here is pure Python (no math-verify), so
strategies can vote on answers cheaply; symbolic equivalence lives in `mathcheck`.
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext
from fractions import Fraction

# A number as models write it: optional sign and "$", thousands separators,
# decimals, a fraction "3/4" or a mixed number "1 1/2". The look-behind keeps
# "x2" or the "3" of "1.3" from counting as numbers of their own.
_NUMBER = re.compile(
    r"(?<![\w.])(?P<sign>[-\u2212])?[ \t]?\$?[ \t]?"
    r"(?:(?P<whole>\d+)[ \t]+(?P<mnum>\d+)/(?P<mden>\d+)(?![\d/])"
    r"|(?P<num>\d+)[ \t]*/[ \t]*(?P<den>\d+)(?![\d/])"
    r"|(?P<dec>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+))"
    r"(?![\d])"
)
_WORD_NUMBERS = {
    word: value
    for value, word in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
         "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen", "twenty"]
    )
}
_MATH_WORDS = {"sin", "cos", "tan", "cot", "sec", "csc", "log", "exp", "sqrt", "max", "min", "gcd"}
_BOXED = re.compile(r"\\(?:boxed|fbox)\s*\{")
# "The answer is", "Answer:", "answer to the question is", "**Final Answer**".
_ANSWER_MARKER = re.compile(
    r"\banswer\b[^.\n:=\d]{0,40}?(?:\bis\b|\bwas\b|\bwould be\b|\bshould be\b|:|=)"
    r"|\bfinal\s+answer\b(?:\s*(?:\bis\b|:|=))?",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"\.(?:\s|$)|[;!?](?:\s|$)")


def final_part(text: str) -> str:
    """Drop a reasoning model's `<think>...</think>` preamble when an answer follows it."""
    if "</think>" in text:
        tail = text.rsplit("</think>", 1)[1]
        if tail.strip():
            return tail
    return text


def clean_latex(text: str) -> str:
    """Turn the LaTeX that wraps plain numbers into plain text ("\\$1{,}234" -> "$1,234")."""
    text = re.sub(r"\\[dt]?frac\s*\{\s*(-?[\d.]+)\s*\}\s*\{\s*(-?[\d.]+)\s*\}", r"\1/\2", text)
    text = re.sub(r"\\(?:text|textbf|mathrm|mathbf|mbox)\s*\{([^{}]*)\}", r" \1 ", text)
    text = text.replace("{,}", ",").replace("\\$", "$").replace("\\%", "%")
    text = re.sub(r"\\[,;:! ]|\\quad|\\left|\\right|\^\\circ|\^\{\\circ\}", " ", text)
    return text.replace("\u2212", "-")


def last_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` (braces nested to any depth); None without one."""
    for match in reversed(list(_BOXED.finditer(text))):
        depth, start = 1, match.end()
        for i in range(start, len(text)):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    return text[start:i].strip()
    return None


def _to_fraction(m: re.Match[str]) -> Fraction:
    if m["whole"] is not None:
        value = int(m["whole"]) + Fraction(int(m["mnum"]), int(m["mden"]) or 1)
    elif m["num"] is not None:
        value = Fraction(int(m["num"]), int(m["den"])) if int(m["den"]) else Fraction(0)
    else:
        value = Fraction(Decimal(m["dec"].replace(",", "")))
    return -value if m["sign"] else value


def _usable(m: re.Match[str]) -> bool:
    """A fraction over zero ("1/0") is no answer."""
    return not (m["den"] is not None and int(m["den"]) == 0)


def format_number(value: Fraction) -> str:
    """Canonical text of a number: "18" not "18.0", "0.75" for 3/4, no exponent."""
    if value.denominator == 1:
        return str(value.numerator)
    with localcontext() as ctx:
        ctx.prec = 15
        dec = (Decimal(value.numerator) / Decimal(value.denominator)).normalize()
    text = format(dec, "f")
    return "0" if text in ("-0", "0") else text


def parse_number(text: str) -> Fraction | None:
    """The value of a string that is just a number (with "$", "%", commas allowed).

    Strict on purpose: "18 apples" is not a number here; use `extract_number` on
    free text first.
    """
    cleaned = clean_latex(text).strip().strip("$").strip().rstrip("%").strip().rstrip(".")
    m = _NUMBER.fullmatch(cleaned)
    if m is None or not _usable(m):
        return None
    return _to_fraction(m)


def numbers_equal(a: str | None, b: str | None, rel_tol: float = 1e-6) -> bool:
    """Whether two strings name the same number ("18.0" == "18", "0.75" == "3/4")."""
    if a is None or b is None:
        return False
    x, y = parse_number(a), parse_number(b)
    if x is None or y is None:
        return False
    if x == y:
        return True
    return abs(float(x - y)) <= rel_tol * max(abs(float(x)), abs(float(y)), 1e-12)


def _first_number(segment: str, words: bool = False) -> str | None:
    """The first number of an answer segment; after an "=" chain, the last result."""
    segment = clean_latex(segment)
    if "=" in segment:
        after = segment.rsplit("=", 1)[1]
        if _NUMBER.search(after):
            segment = after
    for m in _NUMBER.finditer(segment):
        if _usable(m):
            return format_number(_to_fraction(m))
    if words:
        word = re.match(r"[\s*_:$]*(-?)\s*([a-zA-Z]+)\b", segment)
        if word and word[2].lower() in _WORD_NUMBERS:
            return format_number(Fraction(_WORD_NUMBERS[word[2].lower()]) * (-1 if word[1] else 1))
    return None


def _answer_segments(text: str, marker: re.Pattern[str]) -> list[str]:
    """The text after each answer marker (last first): its line, or the next non-empty line."""
    segments: list[str] = []
    for m in reversed(list(marker.finditer(text))):
        rest = text[m.end() :]
        lines = rest.split("\n")
        segment = lines[0]
        if not segment.strip(" \t*_:#$"):
            segment = next((ln for ln in lines[1:] if ln.strip()), "")
        end = _SENTENCE_END.search(segment)
        segments.append(segment[: end.start() + 1] if end else segment)
    return segments


def extract_number(text: str) -> str | None:
    """The final numeric answer in `text` as a canonical string, or None.

    Order: last `\\boxed{}`, then `#### N`, then "the answer is N"/"Answer: N"
    (the last such marker that has a number), then the last number anywhere.
    """
    text = final_part(text)
    boxed = last_boxed(text)
    if boxed is not None and (found := _first_number(boxed)) is not None:
        return found
    for line in reversed(re.findall(r"####[ \t]*([^\n]*)", text)):
        if (found := _first_number(line)) is not None:
            return found
    for segment in _answer_segments(text, _ANSWER_MARKER):
        if (found := _first_number(segment, words=True)) is not None:
            return found
    numbers = [m for m in _NUMBER.finditer(clean_latex(text)) if _usable(m)]
    return format_number(_to_fraction(numbers[-1])) if numbers else None


def extract_math(text: str) -> str | None:
    """The final answer as a LaTeX/plain expression for symbolic checking, or None.

    Order: last `\\boxed{}`, then the expression after "the answer is" (with its
    `$...$` delimiters and final period removed), then the last number.
    """
    text = final_part(text)
    boxed = last_boxed(text)
    if boxed:
        return boxed
    for segment in _answer_segments(text, _ANSWER_MARKER):
        expr = segment.strip().strip("*_: ").rstrip(".").strip()
        expr = re.sub(r"^\\\(|\\\)$|^\\\[|\\\]$", "", expr).strip().strip("$").strip()
        words = set(re.findall(r"(?<![\\a-zA-Z])[a-zA-Z]{3,}", expr)) - _MATH_WORDS
        if words and (num := _first_number(expr)):
            return num  # prose around a number: "18 apples", "1/2 of the cake"
        if expr:
            return expr
    return extract_number(text)


# Multiple choice --------------------------------------------------------------

_CHOICE_MARKERS = (
    # "The answer is (B)", "Answer: c", "correct option is D", "final answer: **C**"
    r"\b(?:answer|(?:correct|right|best|final)\s+(?:option|choice))\b[^\n.:=]{0,30}?"
    r"(?:\bis\b|:|=)[\s*_:]*",
    # "I choose option D", "I'd go with B", "I pick (C)"
    r"\b(?:choose|chose|pick|select|go\s+with|going\s+with)\s+(?:option\s+|choice\s+|answer\s+)?",
    # "Option D is correct", "choice (B)"
    r"\b(?:option|choice)\s+",
)


def _letter_at(text: str, pos: int, letters: str, marked: bool = False) -> str | None:
    """A choice letter starting at `pos`, as "(B)", "B)", "B." or "B" followed by no letter.

    Lowercase letters count only when unambiguous ("(c)" or "c" ending the
    sentence), so "the answer is a bit tricky" reads no letter. Unless `marked`
    (it follows "the answer is"), "A"/"I" before a lowercase word is an article
    or a pronoun, not a choice.
    """
    m = re.compile(r"[(\[]?([A-Za-z])(?:[)\]]|(?![A-Za-z'\u2019]))").match(text, pos)
    if m is None or m[1].upper() not in letters:
        return None
    wrapped = m[0][0] in "([" or m[0][-1] in ")]"
    if m[1].islower() and not (wrapped or re.match(r"\s*(?:[.,;:!)]|$)", text[m.end() :])):
        return None
    if not (wrapped or marked) and m[1] in "AI" and re.match(r"\s+[a-z]", text[m.end() :]):
        return None  # the article "A" or the pronoun "I" starting a sentence
    return m[1].upper()


def extract_choice(text: str, letters: str = "ABCDEFGHIJ") -> str | None:
    """The chosen option letter (uppercase, one of `letters`), or None.

    Order: `\\boxed{B}`; "answer is (B)"/"Answer: c" and "I choose option D"
    (last marker wins); a bold "**B**"; a reply that starts with its letter
    ("B) because..."); a line that is only a letter; the last stand-alone
    capital letter that is not an article or pronoun.
    """
    text = final_part(text)
    letters = letters.upper()
    boxed = last_boxed(text)
    if boxed and (found := _letter_at(clean_latex(boxed).strip(), 0, letters)):
        return found
    for pattern in _CHOICE_MARKERS:
        hits = [m.end() for m in re.finditer(pattern, text, re.IGNORECASE)]
        for end in reversed(hits):
            if found := _letter_at(text, end, letters, marked=True):
                return found
    for m in reversed(list(re.finditer(r"\*\*\s*(?P<l>[(\[]?[A-Ja-j])(?:[)\].:]|\*\*|\s)", text))):
        if found := _letter_at(text, m.start("l"), letters):
            return found
    if (found := _letter_at(text.lstrip(" \t\n*#>"), 0, letters)) is not None:
        return found
    for line in reversed(text.splitlines()):
        stripped = line.strip(" \t*_#>.:")
        if re.fullmatch(r"[(\[]?[A-Ja-j][)\]]?", stripped) and (found := _letter_at(stripped, 0, letters)):
            return found
    for m in reversed(list(re.finditer(r"(?<![A-Za-z'])[(\[]?[A-J](?![A-Za-z'\u2019])", text))):
        if found := _letter_at(text, m.start(), letters):
            return found
    return None


# Code -------------------------------------------------------------------------

# A closing fence ends its line, so a "```" inside a string literal does not close the block.
_FENCE = re.compile(r"(`{3,}|~{3,})[ \t]*([\w+.-]*)[^\n]*\n(.*?)(?:\1[ \t]*(?=\n|\Z)|\Z)", re.S)
_PYTHON_LANGS = {"", "python", "py", "python3", "py3"}


def extract_code(text: str, entry_point: str | None = None) -> str:
    """The program in a reply: a fenced code block's body, or the raw text without fences.

    With several blocks, prefer Python ones, then the last that defines
    `entry_point`, else the longest (usage examples tend to be short). An
    unclosed fence (a truncated reply) runs to the end of the text.
    """
    text = final_part(text)
    blocks: list[tuple[str, str]] = [(m[2].lower(), m[3]) for m in _FENCE.finditer(text)]
    if not blocks:
        return text.strip("\n")
    python: list[str] = [body for lang, body in blocks if lang in _PYTHON_LANGS] or [b for _, b in blocks]
    if entry_point:
        defining = re.compile(rf"^\s*(?:async\s+)?def\s+{re.escape(entry_point)}\s*\(", re.M)
        hits = [body for body in python if defining.search(body)]
        if hits:
            return hits[-1].rstrip()
    return max(python, key=len).rstrip()

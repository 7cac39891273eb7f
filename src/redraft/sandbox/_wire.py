"""The strict value codec between the candidate's process and the grader.

Values cross the process boundary as tagged JSON, one message per line. The
encoder accepts only exact builtin types (``type(x) is int``, never
``isinstance``), so a subclass of ``int`` whose ``__eq__`` is always true, an
object that lies about ``__len__`` or ``__class__`` cannot be sent at all; the
decoder rebuilds only builtin objects from JSON, so whatever bytes the
candidate writes, the grader gets plain data and never runs the candidate's
methods. Standard library only: this file is copied into the sandbox (the
candidate's side encodes with it) and into the grader's source.

Tags: a JSON list is a ``list``; ``{"t": [...]}`` a tuple, ``{"s": [...]}`` a
set, ``{"f": [...]}`` a frozenset, ``{"d": [[k, v], ...]}`` a dict,
``{"b": "hex"}`` bytes, ``{"a": "hex"}`` a bytearray, ``{"x": "1.5"}`` a float written
as text (NaN, infinities
and every other float, so no int/float confusion can arise from JSON).
"""

import io
import json

MAX_DEPTH = 200
MAX_MESSAGE_BYTES = 8_000_000


class CappedText(io.StringIO):
    """Captured stdout that keeps its head only (code under test may print in a loop); shared by
    both sides, so each process's captured output is bounded the same way."""

    limit = 2000

    def write(self, s):
        if self.tell() < self.limit:
            super().write(s[: self.limit - self.tell()])
        return len(s)


class WireError(ValueError):
    """A value that cannot cross, or a message that is not a well-formed one."""


def encode(value, depth=0):
    """``value`` as JSON-ready data; only exact builtin types are accepted."""
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return value
    if kind is float:
        return {"x": float.__repr__(value)}
    if kind is list:
        return [encode(v, depth + 1) for v in list.__iter__(value)]
    if kind is tuple:
        return {"t": [encode(v, depth + 1) for v in tuple.__iter__(value)]}
    if kind is set:
        return {"s": [encode(v, depth + 1) for v in set.__iter__(value)]}
    if kind is frozenset:
        return {"f": [encode(v, depth + 1) for v in frozenset.__iter__(value)]}
    if kind is dict:
        return {"d": [[encode(k, depth + 1), encode(v, depth + 1)] for k, v in dict.items(value)]}
    if kind is bytes:
        return {"b": bytes.hex(value)}
    if kind is bytearray:
        return {"a": bytearray.hex(value)}
    raise WireError(f"a value of type {type.__repr__(kind)[8:-2]} cannot be returned to the tests")


def _rebuild(data, depth=0):
    if depth > MAX_DEPTH:
        raise WireError("value nested too deeply")
    kind = type(data)
    if data is None or kind in (bool, int, str):
        return data
    if kind is list:
        return [_rebuild(v, depth + 1) for v in data]
    if kind is not dict or len(data) != 1:
        raise WireError("malformed value")
    ((tag, body),) = data.items()
    if tag == "x" and type(body) is str:
        return float(body)
    if tag == "b" and type(body) is str:
        return bytes.fromhex(body)
    if tag == "a" and type(body) is str:
        return bytearray.fromhex(body)
    if type(body) is not list:
        raise WireError("malformed value")
    items = [_rebuild(v, depth + 1) for v in body]
    try:
        if tag == "t":
            return tuple(items)
        if tag == "s":
            return set(items)
        if tag == "f":
            return frozenset(items)
        if tag == "d":
            if not all(type(p) is list and len(p) == 2 for p in items):
                raise WireError("malformed dict")
            return {k: v for k, v in items}
    except TypeError as exc:  # an unhashable key or set member
        raise WireError(f"malformed value: {exc}") from None
    raise WireError(f"unknown tag {tag!r}")


def decode(data):
    """Builtin objects from JSON-ready data (the inverse of `encode`)."""
    try:
        return _rebuild(data)
    except RecursionError:
        raise WireError("value nested too deeply") from None


def dumps(message):
    """One line of JSON (no NaN: floats travel as text)."""
    return (json.dumps(message, allow_nan=False, separators=(",", ":")) + "\n").encode()


def loads(line):
    """A message from one line; anything but a JSON object is refused."""
    if len(line) > MAX_MESSAGE_BYTES:
        raise WireError("message too large")
    try:
        message = json.loads(line, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # also ints past the digit limit
        raise WireError(f"malformed message: {str(exc)[:100]}") from None
    if type(message) is not dict:
        raise WireError("malformed message")
    return message


def _no_constant(name):
    raise WireError(f"bare {name} is not allowed")


def strict_equal(a, b, depth=0):
    """``a == b`` with the types required to match exactly, all the way down.

    ``True == 1`` and ``1 == 1.0`` hold in Python; as a grade they do not: a
    function that should return ``1`` and returns ``True`` is wrong. Only ever
    called on decoded (builtin) values, so no candidate method runs.
    """
    if depth > MAX_DEPTH:
        return False
    kind = type(a)
    if kind is not type(b):
        return False
    if kind in (list, tuple):
        return len(a) == len(b) and all(strict_equal(x, y, depth + 1) for x, y in zip(a, b, strict=True))
    if kind is dict:
        if a.keys() != b.keys():
            return False
        keys_b = {k: k for k in b}
        return all(
            strict_equal(k, keys_b[k], depth + 1) and strict_equal(v, b[k], depth + 1) for k, v in a.items()
        )
    if kind in (set, frozenset):
        if a != b:
            return False
        members_b = {m: m for m in b}
        return all(strict_equal(m, members_b[m], depth + 1) for m in a)
    return a == b

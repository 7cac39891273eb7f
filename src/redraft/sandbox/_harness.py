"""Runs inside the sandbox (copied there as main.py): load a solution, run asserts.

Standard library only, and no import of redraft: the sandbox interpreter has no
site-packages. One process runs every case, so a case that hangs or kills the
process costs the cases after it; each result is printed (and flushed) the moment
it is known, on its own marker line, so the parent still sees everything that
finished before the wall clock ran out. Failure messages name the value under
test, because "add(1,2) returned 3" is what lets a model fix its code.
"""

import ast
import contextlib
import io
import json
import operator
import os
import sys
import traceback

CONFIG = "_redraft_cases.json"
SOLUTION = "solution.py"
_OPS = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}  # fmt: skip


class _Capped(io.StringIO):
    """stdout of one case; keeps the head only, a case may print in a loop."""

    limit = 2000

    def write(self, s):
        if self.tell() < self.limit:
            super().write(s[: self.limit - self.tell()])
        return len(s)


def short(value, limit):
    try:
        text = repr(value)
    except Exception as exc:  # a broken __repr__ must not hide the verdict
        text = f"<unrepresentable {type(value).__name__}: {exc}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def where(exc):
    """'(solution.py line 3: return a - b)' for the deepest frame in the solution."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == SOLUTION]
    if not frames:
        return ""
    f = frames[-1]
    return f" (at {SOLUTION} line {f.lineno}: {(f.line or '').strip()})"


def describe(node, src, value, limit):
    text = ast.get_source_segment(src, node) or ast.unparse(node)
    verb = "returned" if isinstance(node, ast.Call) else "is"
    return f"{text} {verb} {short(value, limit)}"


def is_literal(node):
    try:
        ast.literal_eval(node)
        return True
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False


def evaluate(node, ns):
    return eval(compile(ast.Expression(node), "<test>", "eval"), ns)


def check(test, msg, src, ns, limit):
    """Evaluate an assertion; return (passed, actual repr, failure text)."""
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _OPS:
        left = evaluate(test.left, ns)
        right = evaluate(test.comparators[0], ns)
        if _OPS[type(test.ops[0])](left, right):
            return True, short(left, limit), ""
        sides = [(test.left, left), (test.comparators[0], right)]
        shown = [describe(n, src, v, limit) for n, v in sides if not is_literal(n)]
        why = "; ".join(shown) or describe(test.left, src, left, limit)
    else:
        inner = test.operand if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) else test
        left = evaluate(inner, ns)
        if bool(left) != (inner is not test):
            return True, short(left, limit), ""
        why = describe(inner, src, left, limit)
    if msg is not None:
        why += f" (message: {evaluate(msg, ns)})"
    return False, short(left, limit), why


def run_case(src, ns, limit):
    """One case: an assert, a bare comparison, or any statements (pass = no exception)."""
    try:
        tree = ast.parse(src)
    except SyntaxError as exc:
        return {"outcome": "error", "message": f"invalid test {src!r}: {exc.msg}"}
    body = tree.body
    out = _Capped()
    actual, outcome, message = None, "passed", f"{src} passed"
    try:
        with contextlib.redirect_stdout(out):
            if len(body) == 1 and isinstance(body[0], ast.Assert):
                ok, actual, why = check(body[0].test, body[0].msg, src, ns, limit)
            elif len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Compare):
                ok, actual, why = check(body[0].value, None, src, ns, limit)
            else:
                exec(compile(tree, "<test>", "exec"), ns)
                ok, why = True, ""
        if not ok:
            outcome, message = "failed", f"{src} failed: {why}"
    except SystemExit as exc:
        outcome, message = "error", f"{src} called exit({exc.code!r})"
    except BaseException as exc:  # noqa: BLE001 - the model's code may raise anything
        kind = type(exc).__name__
        try:
            text = str(exc)
        except Exception:  # noqa: BLE001
            text = "<unprintable>"
        detail = f"{kind}: {text[:limit]}" if text else kind
        outcome, message = "error", f"{src} raised {detail}{where(exc)}"
    return {"outcome": outcome, "actual": actual, "message": message, "output": out.getvalue()}


def main():
    with open(CONFIG, encoding="utf-8") as f:
        config = json.load(f)
    prefix, limit = config["marker"], config["repr_limit"]

    def emit(record):  # straight to fd 1: the solution may replace sys.stdout
        os.write(1, f"\n{prefix}{json.dumps(record)}\n".encode())

    with open(SOLUTION, encoding="utf-8") as f:
        solution = f.read()
    ns = {"__name__": "solution", "__builtins__": __builtins__}
    try:
        exec(compile(solution, SOLUTION, "exec"), ns)
    except SyntaxError as exc:
        emit({"load_error": f"SyntaxError: {exc.msg} ({SOLUTION} line {exc.lineno})"})
        return
    except BaseException as exc:  # noqa: BLE001
        emit({"load_error": f"{type(exc).__name__}: {exc}{where(exc)}"})
        return
    sys.stdout.flush()
    for index, src in enumerate(config["cases"]):
        record = run_case(src, ns, limit)
        record["index"] = index
        emit(record)


if __name__ == "__main__":
    main()

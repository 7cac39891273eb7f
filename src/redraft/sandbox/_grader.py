"""The grader: runs the tests outside the candidate's process and decides the verdict.

A sandboxed run of its own (another throwaway uid, other namespaces: the
candidate can neither see, signal nor read it), never importing the solution;
the job (test code, cases, entry point) arrives on stdin, never on disk.
Sandboxed because test code is not always trusted: Reflexion runs asserts the
model wrote. The candidate's
functions are reachable only as `_Remote` proxies: calling one sends the
arguments over a socket to the candidate's process (`_worker`) and turns the
reply back into plain builtin values with the strict `_wire` decoder. So the
test code, the expected values and every comparison run here, on data the
candidate could only choose as any function chooses its return value.

Every ``assert`` of the tests is rewritten (``ast``) into a call that compares
with `strict_equal` (types must match, no ``__eq__`` of the candidate's can
run: there are no candidate objects here) and names the values under test in
the failure message ("candidate([3, 2, 1]) returned [5, 4, 3]"). One record per
case goes to our stdout, a pipe only the parent holds, then ``{"done": true}``;
the parent counts a case that has no record as not passed.

Standard library only; ``_wire`` is copied next to this file.
"""

import ast
import builtins
import contextlib
import ctypes
import json
import operator
import os
import sys

import _wire

REPR_LIMIT = 300
_OPS = {
    "Lt": operator.lt, "LtE": operator.le, "Gt": operator.gt, "GtE": operator.ge,
    "Is": operator.is_, "IsNot": operator.is_not,
    "In": lambda a, b: a in b, "NotIn": lambda a, b: a not in b,
}  # fmt: skip
_NOT_MAPPED = (StopIteration, StopAsyncIteration)


class _Gone(BaseException):
    """The candidate's process ended (or broke the protocol): nothing more can pass.

    A BaseException, so a test's ``except Exception`` does not swallow it; the
    `_State.gone` flag catches a bare ``except`` that does."""


class _Failed(AssertionError):
    """A rewritten assert that did not hold; the message names the values."""


class _CandidateError(Exception):
    """An exception raised in the candidate's process that has no builtin twin."""


class _State:
    gone = False
    gone_reason = ""
    asserts_passed = 0
    actual = None


def short(value, limit=REPR_LIMIT):
    text = repr(value)  # builtin values only: repr cannot be the candidate's
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Channel:
    """Line-delimited messages over the socket to the candidate's process."""

    def __init__(self, fd):
        self.fd = fd
        self.buffered = b""

    def send(self, message):
        data = _wire.dumps(message)
        try:
            while data:
                data = data[os.write(self.fd, data) :]
        except OSError as exc:
            _gone(f"the solution's process ended ({exc.strerror})")

    def receive(self):
        while b"\n" not in self.buffered:
            if len(self.buffered) > _wire.MAX_MESSAGE_BYTES:
                _gone("the solution sent an oversized message")
            try:
                chunk = os.read(self.fd, 1 << 20)
            except OSError:
                chunk = b""
            if not chunk:
                _gone("the solution's process ended")
            self.buffered += chunk
        line, self.buffered = self.buffered.split(b"\n", 1)
        try:
            return _wire.loads(line)
        except _wire.WireError as exc:
            _gone(f"the solution broke the protocol: {exc}")


def _gone(reason):
    if not _State.gone:
        _State.gone, _State.gone_reason = True, reason
    raise _Gone(_State.gone_reason)


class _Remote:
    """Stands in for one of the candidate's functions; see the module docstring."""

    def __init__(self, channel, name):
        self._channel, self._name = channel, name
        self.__name__ = name

    def __repr__(self):
        return f"<solution function {self._name}>"

    def __call__(self, *args, **kwargs):
        if _State.gone:
            raise _Gone(_State.gone_reason)
        try:
            request = {"call": self._name, "args": _wire.encode(list(args)), "kwargs": _wire.encode(kwargs)}
        except _wire.WireError as exc:
            why = f"the tests pass {self._name} an argument the sandbox cannot carry: {exc}"
            raise TypeError(why) from None
        self._channel.send(request)
        reply = self._channel.receive()
        output = reply.get("output")
        if type(output) is str:
            sys.stdout.write(output[:2000])
        if "value" in reply:
            try:
                return _wire.decode(reply["value"])
            except _wire.WireError as exc:
                _gone(f"the solution broke the protocol: {exc}")
        error = reply.get("error")
        if type(error) is not dict:
            _gone("the solution broke the protocol: a reply without value or error")
        kind, text, where = (str(error.get(k, ""))[:400] for k in ("type", "text", "where"))
        cls = getattr(builtins, kind, None) if kind.isidentifier() else None
        raised = None
        if isinstance(cls, type) and issubclass(cls, Exception) and not issubclass(cls, _NOT_MAPPED):
            with contextlib.suppress(Exception):  # e.g. UnicodeDecodeError needs five arguments
                raised = cls(text) if text else cls()
        if raised is None:
            raised = _CandidateError(f"{kind}: {text}" if text else kind)
        raised._redraft_where = where
        raised._redraft_kind = kind
        raise raised


def _fetch(channel, name):
    """The value of a module-level variable of the solution, as plain data."""
    channel.send({"get": name})
    reply = channel.receive()
    if "value" not in reply:
        raise _CandidateError(f"{name} cannot be read")
    try:
        return _wire.decode(reply["value"])
    except _wire.WireError as exc:
        _gone(f"the solution broke the protocol: {exc}")


class _Instrument(ast.NodeTransformer):
    """Rewrites every ``assert`` into a call of `_assert_compare` or `_assert_truth`."""

    def __init__(self, src, table):
        self.src, self.table = src, table

    def _text(self, node):
        return ast.get_source_segment(self.src, node) or ast.unparse(node)

    def _side(self, node):
        verb = "returned" if isinstance(node, ast.Call) else "is"
        try:
            ast.literal_eval(node)
            literal = True
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            literal = False
        return (self._text(node), verb, literal)

    def visit_Assert(self, node):
        test = node.test
        message = ast.Lambda(args=_no_args(), body=node.msg) if node.msg is not None else ast.Constant(None)
        index = len(self.table)
        if isinstance(test, ast.Compare) and len(test.ops) == 1:
            right = test.comparators[0]
            self.table.append(
                {"src": self._text(node), "op": type(test.ops[0]).__name__,
                 "sides": [self._side(test.left), self._side(right)]}  # fmt: skip
            )
            call = _call("__redraft_compare__", [ast.Constant(index), test.left, right, message])
        else:
            negate = isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)
            inner = test.operand if negate else test
            self.table.append({"src": self._text(node), "negate": negate, "sides": [self._side(inner)]})
            call = _call("__redraft_truth__", [ast.Constant(index), inner, message])
        return ast.copy_location(ast.Expr(call), node)


def _no_args():
    return ast.arguments(posonlyargs=[], args=[], kwonlyargs=[], kw_defaults=[], defaults=[])


def _call(name, args):
    return ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[])


def _fail(info, values, message):
    shown = [
        f"{text} {verb} {short(value)}"
        for (text, verb, literal), value in zip(info["sides"], values, strict=True)
        if not literal
    ]
    text, verb, _ = info["sides"][0]
    why = "; ".join(shown) or f"{text} {verb} {short(values[0])}"
    if len(values) == 2 and info["op"] in ("Eq", "NotEq") and type(values[0]) is not type(values[1]):
        with contextlib.suppress(Exception):
            if values[0] == values[1]:
                why += f" (a {type(values[0]).__name__}, not a {type(values[1]).__name__})"
    if message is not None:
        why += f" (message: {message()})"
    raise _Failed(f"{info['src']} failed: {why}")


def make_checks(table):
    """The two functions rewritten asserts call; they decide pass or fail."""

    def compare(index, left, right, message):
        info = table[index]
        op = info["op"]
        if op == "Eq":
            ok = _wire.strict_equal(left, right)
        elif op == "NotEq":
            ok = not _wire.strict_equal(left, right)
        else:
            ok = _OPS[op](left, right)
        _State.actual = left
        if not ok or _State.gone:
            _fail(info, [left, right], message)
        _State.asserts_passed += 1

    def truth(index, value, message):
        info = table[index]
        _State.actual = value
        if bool(value) == info["negate"] or _State.gone:
            _fail(info, [value], message)
        _State.asserts_passed += 1

    return compare, truth


def loaded_names(tree):
    """Names read anywhere in ``tree`` that it never binds itself."""
    loads, stores = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loads if isinstance(node.ctx, ast.Load) else stores).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stores.add(node.name)
        elif isinstance(node, ast.arg):
            stores.add(node.arg)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            stores.update((a.asname or a.name).split(".")[0] for a in node.names)
    return loads - stores


def compile_instrumented(src, table, *, bare_compare_is_assert):
    tree = ast.parse(src)
    if bare_compare_is_assert and len(tree.body) == 1:
        only = tree.body[0]
        if isinstance(only, ast.Expr) and isinstance(only.value, ast.Compare):
            tree.body[0] = ast.copy_location(ast.Assert(test=only.value, msg=None), only)
    tree = ast.fix_missing_locations(_Instrument(src, table).visit(tree))
    return tree, compile(tree, "<test>", "exec")


def run_case(src, ns, table):
    """One case: outcome, actual (repr of the value under test) and message."""
    _State.asserts_passed, _State.actual = 0, None
    try:
        tree, code = compile_instrumented(src, table, bare_compare_is_assert=True)
    except SyntaxError as exc:
        return {"outcome": "error", "message": f"invalid test {src!r}: {exc.msg}"}
    single_assert = len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr)
    out = _wire.CappedText()
    outcome, message = "passed", f"{src} passed"
    try:
        with contextlib.redirect_stdout(out):
            exec(code, ns)
        if _State.gone:
            outcome, message = "gone", _State.gone_reason
    except _Gone as exc:
        outcome, message = "gone", str(exc)
    except _Failed as exc:
        outcome, message = "failed", str(exc)
    except AssertionError as exc:
        outcome, message = "failed", f"{src} failed" + (f": {exc}" if str(exc) else "")
    except SystemExit as exc:
        outcome, message = "error", f"{src} called exit({exc.code!r})"
    except BaseException as exc:  # noqa: BLE001 - test code may raise anything
        kind = getattr(exc, "_redraft_kind", type(exc).__name__)
        text = str(exc)
        if isinstance(exc, _CandidateError):
            detail = text
        else:
            detail = f"{kind}: {text[:REPR_LIMIT]}" if text else kind
        outcome, message = "error", f"{src} raised {detail}{getattr(exc, '_redraft_where', '')}"
    if _State.gone and outcome != "gone":
        outcome, message = "gone", _State.gone_reason
    actual = short(_State.actual) if single_assert and _State.actual is not None else None
    return {
        "outcome": outcome,
        "actual": actual,
        "message": message,
        "output": out.getvalue(),
        "asserts_passed": _State.asserts_passed,
    }


def _not_dumpable():
    """Same-uid processes (the candidate, in the weaker modes) may then neither read
    our memory nor open our file descriptors through /proc."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE, 0


def main():
    _not_dumpable()

    def emit(record):
        data = (json.dumps(record) + "\n").encode()
        while data:
            data = data[os.write(1, data) :]

    job = json.loads(sys.stdin.read())
    channel = _Channel(job["fd"])
    hello = None
    try:
        hello = channel.receive()
    except _Gone as exc:
        emit({"gone": str(exc)})
        return
    if "load_error" in hello:
        emit({"load_error": str(hello["load_error"])[:2000]})
        return
    offered = hello.get("hello")
    offered = {n for n in offered if type(n) is str} if type(offered) is list else set()
    values = hello.get("values")
    values = {n for n in values if type(n) is str} if type(values) is list else set()
    table = []
    compare, truth = make_checks(table)
    ns = {"__name__": "__redraft_tests__", "__builtins__": builtins}
    try:
        with contextlib.redirect_stdout(_wire.CappedText()):
            if job.get("prelude"):
                exec(compile(job["prelude"], "<prompt>", "exec"), ns)
            wanted = set()
            for src in [job.get("setup") or "", *job["cases"]]:
                with contextlib.suppress(SyntaxError):
                    wanted |= loaded_names(ast.parse(src))
            entry = job.get("entry_point")
            if entry and entry not in offered:
                ns.pop(entry, None)  # not the prompt's stub: a missing function is a NameError
            for name in sorted(wanted | ({entry} if entry else set())):
                if name in offered and (name == entry or (name not in ns and not hasattr(builtins, name))):
                    ns[name] = _Remote(channel, name)
                elif name in values and name not in ns and not hasattr(builtins, name):
                    with contextlib.suppress(_CandidateError, Exception):
                        ns[name] = _fetch(channel, name)
            ns["__redraft_compare__"], ns["__redraft_truth__"] = compare, truth
            if job.get("setup"):
                _, code = compile_instrumented(job["setup"], table, bare_compare_is_assert=False)
                exec(code, ns)
    except BaseException as exc:  # noqa: BLE001 - broken test code: every case errors
        emit({"setup_error": f"the tests could not be loaded: {type(exc).__name__}: {exc}"})
        return
    for index, src in enumerate(job["cases"]):
        record = run_case(src, ns, table)
        record["index"] = index
        emit(record)
        if record["outcome"] == "gone":
            return
    emit({"done": True})


if __name__ == "__main__":
    main()

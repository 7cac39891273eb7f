"""Runs inside the sandbox as main.py: load the solution, then answer calls.

This is the only code of ours in the candidate's process, and it decides
nothing: it loads ``solution.py``, says which top-level names are callable, and
then, for each request from the grader ("call f with these arguments"), calls
the function and sends back the encoded result, the exception, and what the
call printed. The tests, the expected values and the verdict live in the
grader, a different process the candidate cannot reach, so nothing the
candidate does here (patching this file's functions, ``os._exit(0)``, objects
whose ``__eq__`` lies, forged output) can do more than send back some value.

Standard library only (the sandbox interpreter has no site-packages); ``_wire``
is copied next to this file. The channel is the file descriptor named in argv.
"""

import contextlib
import os
import sys
import traceback

import _wire

SOLUTION = "solution.py"


def where(exc):
    """' (at solution.py line 3: return a - b)' for the deepest frame in the solution."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == SOLUTION]
    if not frames:
        return ""
    f = frames[-1]
    return f" (at {SOLUTION} line {f.lineno}: {(f.line or '').strip()})"


def describe(exc):
    if isinstance(exc, SystemExit):
        return {"type": "SystemExit", "text": repr(exc.code)[:300], "where": where(exc)}
    try:
        text = str(exc)[:300]
    except Exception:  # noqa: BLE001 - a broken __str__ must not hide the error
        text = "<unprintable>"
    return {"type": type(exc).__name__, "text": text, "where": where(exc)}


def main():
    fd = int(sys.argv[1])
    reader = open(fd, "rb", buffering=0, closefd=False)  # noqa: SIM115 - lives as long as we do

    def send(message):
        data = _wire.dumps(message)
        while data:
            data = data[os.write(fd, data) :]

    with open(SOLUTION, encoding="utf-8") as f:
        source = f.read()
    ns = {"__name__": "solution", "__builtins__": __builtins__}
    try:
        exec(compile(source, SOLUTION, "exec"), ns)
    except SyntaxError as exc:
        send({"load_error": f"SyntaxError: {exc.msg} ({SOLUTION} line {exc.lineno})"})
        return
    except BaseException as exc:  # noqa: BLE001 - including SystemExit at import
        info = describe(exc)
        send({"load_error": f"{info['type']}: {info['text']}{info['where']}"})
        return
    names = [k for k, v in list(ns.items()) if type(k) is str and callable(v)]
    values = [k for k, v in list(ns.items()) if type(k) is str and not callable(v) and k[:2] != "__"]
    send({"hello": names, "values": values})
    buffered = b""
    while True:
        while b"\n" not in buffered:
            chunk = reader.read(1 << 16)
            if not chunk:
                os._exit(0)  # the grader is done; the solution's atexit hooks and threads do not matter
            buffered += chunk
        line, buffered = buffered.split(b"\n", 1)
        request = _wire.loads(line)
        out = _wire.CappedText()
        try:
            if "get" in request:  # a module-level value the tests read (``assert x == 1``)
                send({"value": _wire.encode(ns[request["get"]])})
                continue
            function = ns[request["call"]]
            args = _wire.decode(request["args"])
            kwargs = _wire.decode(request["kwargs"])
            with contextlib.redirect_stdout(out):
                value = function(*args, **kwargs)
            reply = {"value": _wire.encode(value)}
        except BaseException as exc:  # noqa: BLE001 - the model's code may raise anything
            reply = {"error": describe(exc)}
        reply["output"] = out.getvalue()
        try:
            send(reply)
        except ValueError:  # a string that JSON cannot carry (lone surrogate)
            send({"error": {"type": "TypeError", "text": "the value cannot be sent", "where": ""}})


if __name__ == "__main__":
    try:
        main()
    except OSError:  # the grader went away mid-reply: nothing left to answer
        pass
    except BaseException:  # noqa: BLE001 - ours or the solution's doing; shown in stderr
        traceback.print_exc()
        os._exit(1)
    # Not a normal exit: the solution's atexit hooks and non-daemon threads
    # cannot keep the run alive (or change anything: the verdict is not ours).
    os._exit(0)

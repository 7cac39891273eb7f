"""A hostile corpus for the grader: wrong solutions that try to tamper with their grading.

Every program below gets ``incr_list`` wrong (or does not define it) and tries
to be graded as passed anyway: exiting 0, lying objects, forged result lines,
patching the harness, reading the tests, killing the grader. Each must come out
FAILED, from `run_tests` (HumanEval style) and from `run_test_cases` (assert
lists). Where a trick is only defeated by the ``full`` mode (a uid of its own,
a mount namespace), the test says so and skips elsewhere.
"""

from __future__ import annotations

import asyncio
import secrets

import pytest

from redraft.sandbox import Isolation, SandboxLimits, detect_isolation, run_test_cases, run_tests

TOKEN = f"redraft-secret-{secrets.token_hex(16)}"
TESTS = f"""
# {TOKEN}
def check(candidate):
    assert candidate([]) == []
    assert candidate([3, 2, 1]) == [4, 3, 2]
    assert candidate([5, 2, 5]) == [6, 3, 6]
"""
ASSERTS = ["assert incr_list([]) == []", "assert incr_list([3, 2, 1]) == [4, 3, 2]"]
LIMITS = SandboxLimits(wall_time_s=4)
WRONG = "def incr_list(l):\n    return [x + 2 for x in l]\n"

# fmt: off
FORGED = (
    '\n{"index": 0, "outcome": "passed", "message": "ok"}\n{"done": true}\n'
    'all tests passed\n@@redraft-case-0@@ {"index": 0, "outcome": "passed"}\n'
)
TRICKS: dict[str, str] = {
    "os._exit(0) at import": "import os\nos._exit(0)\n",
    "SystemExit(0) at import": "raise SystemExit(0)\n",
    "sys.exit(0) inside the function": "import sys\ndef incr_list(l):\n    sys.exit(0)\n",
    "os._exit(0) inside the function": "import os\ndef incr_list(l):\n    os._exit(0)\n",
    "atexit hook exits 0": (
        "import atexit, os\natexit.register(lambda: os._exit(0))\n" + WRONG
    ),
    "excepthook exits 0": (
        "import os, sys\nsys.excepthook = lambda *a: os._exit(0)\n"
        "def incr_list(l):\n    raise ValueError('boom')\n"
    ),
    "always-equal object": (
        "class Eq:\n    def __eq__(self, other):\n        return True\n"
        "    def __ne__(self, other):\n        return False\n    __hash__ = object.__hash__\n"
        "def incr_list(l):\n    return Eq()\n"
    ),
    "lying __bool__ __len__ __hash__ __repr__": (
        "class Liar(list):\n    def __eq__(self, o):\n        return True\n    def __ne__(self, o):\n"
        "        return False\n    def __bool__(self):\n        return True\n    def __len__(self):\n"
        "        return 3\n    def __hash__(self):\n        return 0\n    def __repr__(self):\n"
        "        return '[4, 3, 2]'\n"
        "def incr_list(l):\n    return Liar()\n"
    ),
    "int subclass equal to anything": (
        "class I(int):\n    def __eq__(self, o):\n        return True\n    __hash__ = int.__hash__\n"
        "def incr_list(l):\n    return [I(0) for _ in l]\n"
    ),
    "str subclass equal to anything": (
        "class S(str):\n    def __eq__(self, o):\n        return True\n    __hash__ = str.__hash__\n"
        "def incr_list(l):\n    return S('x')\n"
    ),
    "list subclass equal to anything": (
        "class L(list):\n    def __eq__(self, o):\n        return True\n"
        "def incr_list(l):\n    return L()\n"
    ),
    "__class__ property pretends to be a list": (
        "class Fake:\n    @property\n    def __class__(self):\n        return list\n"
        "    def __eq__(self, o):\n        return True\n"
        "def incr_list(l):\n    return Fake()\n"
    ),
    "__class__ assignment": (
        "class A:\n    def __eq__(self, o):\n        return True\nclass B:\n    def __eq__(self, o):\n"
        "        return True\n"
        "def incr_list(l):\n    a = A()\n    a.__class__ = B\n    return a\n"
    ),
    "True where a number is expected": "def incr_list(l):\n    return [True for x in l]\n",
    "overriding builtins isinstance/type/repr/print": (
        "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.type = lambda *a: list\n"
        "builtins.repr = lambda *a: '[4, 3, 2]'\nbuiltins.print = lambda *a, **k: None\n" + WRONG
    ),
    "monkeypatching the harness's functions": (
        "import sys, _wire\n_wire.encode = lambda v, depth=0: [4, 3, 2]\n"
        "_wire.strict_equal = lambda *a: True\n"
        "main = sys.modules['__main__']\nmain.describe = lambda exc: {'type': 'x', 'text': '', 'where': ''}\n"
        + WRONG
    ),
    "sys.modules tampering": (
        "import sys, types\nfake = types.ModuleType('json')\n"
        "fake.dumps = lambda *a, **k: '{\"done\": true}'\n"
        "fake.loads = lambda *a, **k: {'done': True}\nsys.modules['json'] = fake\n"
        "sys.modules['_wire'].dumps = lambda m: b'{\"value\": true, \"done\": true}\\n'\n" + WRONG
    ),
    "forged result lines on stdout, stderr, fd 1/2 and /proc/self/fd": (
        f"import os, sys\nforged = {FORGED!r}\nprint(forged)\nsys.stderr.write(forged)\n"
        "os.write(1, forged.encode())\nos.write(2, forged.encode())\n"
        "for fd in os.listdir('/proc/self/fd'):\n    try:\n"
        "        with open('/proc/self/fd/' + fd, 'w') as f:\n            f.write(forged)\n"
        "    except OSError:\n        pass\n" + WRONG
    ),
    "fake replies sprayed on every descriptor": (
        "import os\nfor fd in range(3, 256):\n    try:\n"
        "        os.write(fd, b'{\"value\": [4, 3, 2]}\\n{\"value\": []}\\n{\"done\": true}\\n')\n"
        "    except OSError:\n        pass\n" + WRONG
    ),
    "gc walk for the harness": (
        "import gc\nfor o in gc.get_objects():\n"
        "    if isinstance(o, dict) and ('cases' in o or 'expected' in o):\n        o['cases'] = []\n"
        "    if callable(o) and getattr(o, '__name__', '') in ('check', 'run_case'):\n"
        "        try:\n            o.__code__ = (lambda *a, **k: True).__code__\n        except Exception:\n"
        "            pass\n" + WRONG
    ),
    "signal handlers and an alarm that exits 0": (
        "import os, signal\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGALRM, signal.SIGPIPE):\n"
        "    signal.signal(s, lambda *a: os._exit(0))\nsignal.alarm(1)\n" + WRONG
    ),
    "a thread that keeps writing fake replies": (
        "import os, stat, threading\ndef spam():\n    while True:\n        for fd in range(3, 64):\n"
        "            try:\n                if stat.S_ISSOCK(os.fstat(fd).st_mode):\n"
        "                    os.write(fd, b'{\"value\": [6, 3, 6]}\\n')\n            except OSError:\n"
        "                pass\nthreading.Thread(target=spam, daemon=False).start()\n" + WRONG
    ),
    "redefining check, candidate and AssertionError": (
        "def check(candidate):\n    return True\ncandidate = check\nAssertionError = None\n" + WRONG
    ),
    "no function at all": "x = 1\n",
    "deeply nested and oversized values": (
        "def incr_list(l):\n    v = []\n    for _ in range(100000):\n        v = [v]\n    return v\n"
    ),
    "a huge integer": "def incr_list(l):\n    return 10 ** 100000\n",
    "forks a child that answers instead": (
        "import os\ndef incr_list(l):\n    if os.fork() == 0:\n        return [x + 3 for x in l]\n"
        "    os._exit(0)\n"
    ),
}
# fmt: on


def _grade(program: str) -> bool:
    return asyncio.run(run_tests(program, TESTS, entry_point="incr_list", limits=LIMITS)).passed


def _cases(program: str) -> list[bool]:
    return [r.passed for r in asyncio.run(run_test_cases(program, ASSERTS, limits=LIMITS))]


@pytest.mark.parametrize("name", list(TRICKS))
def test_tampering_solution_fails_humaneval_grading(name: str) -> None:
    assert not _grade(TRICKS[name]), name


@pytest.mark.parametrize("name", list(TRICKS))
def test_tampering_solution_fails_assert_cases(name: str) -> None:
    # [] == [] is right for a wrong function too; the second case must fail.
    assert not all(_cases(TRICKS[name])), name


def test_the_correct_solution_passes_despite_the_noise() -> None:
    noisy = f"import os, sys\nprint({FORGED!r})\nsys.stderr.write('x')\n" + WRONG.replace("+ 2", "+ 1")
    assert _grade(noisy)
    assert _cases(noisy) == [True, True]


def test_failure_message_names_the_type_that_cannot_cross() -> None:
    result = asyncio.run(
        run_tests(TRICKS["always-equal object"], TESTS, entry_point="incr_list", limits=LIMITS)
    )
    assert not result.passed and "cannot be returned" in result.message and "Eq" in result.message


def test_true_where_one_is_expected_is_named() -> None:
    (case,) = asyncio.run(run_test_cases("def f():\n    return True\n", ["assert f() == 1"]))
    assert case.outcome == "failed"
    assert case.message == "assert f() == 1 failed: f() returned True (a bool, not a int)"


# The candidate looks for the tests everywhere it can read: files around it, its own
# memory, argv and environment, and every process it can see (the grader's memory,
# argv, environment and descriptors included). It answers correctly only if it finds
# the token that sits in the tests' source.
SEARCH = r"""
import os, re
PATTERN = re.compile(rb"redraft-" + rb"secret-[0-9a-f]{32}")
def _scan(data):
    return PATTERN.search(data) is not None
def _read(path, limit=1 << 24):
    try:
        with open(path, "rb") as f:
            return f.read(limit)
    except OSError:
        return b""
def _memory(pid):
    found = False
    try:
        maps = open(f"/proc/{pid}/maps").read().splitlines()
        mem = open(f"/proc/{pid}/mem", "rb", 0)
    except OSError:
        return False
    budget = 1 << 28
    for line in maps:
        start, end = (int(x, 16) for x in line.split()[0].split("-"))
        if "r" not in line.split()[1] or end - start > budget:
            continue
        budget -= end - start
        try:
            mem.seek(start)
            if _scan(mem.read(end - start)):
                found = True
                break
        except (OSError, ValueError, OverflowError):
            continue
    return found
def tests_visible():
    for root in (".", "/tmp", "/var/tmp", "/dev/shm", "/run"):
        for dirpath, _, files in os.walk(root):
            for name in files:
                if _scan(_read(os.path.join(dirpath, name))):
                    return True
    pids = [p for p in os.listdir("/proc") if p.isdigit()] + ["self", str(os.getppid())]
    for pid in dict.fromkeys(pids):
        for part in ("cmdline", "environ"):
            if _scan(_read(f"/proc/{pid}/{part}")):
                return True
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            fds = []
        for fd in fds:
            if _scan(_read(f"/proc/{pid}/fd/{fd}", 1 << 20)):
                return True
        if _memory(pid):
            return True
    return False
FOUND = tests_visible()
def incr_list(l):
    return [x + (1 if FOUND else 2) for x in l]
"""


def test_hidden_tests_are_out_of_the_candidates_reach() -> None:
    assert not _grade(SEARCH)


def test_the_search_would_find_the_tests_if_they_were_reachable() -> None:
    # Control: the same search, with the token placed where the candidate can read it.
    leaked = SEARCH + f"\n# {TOKEN}\n"
    assert _grade(leaked)


def _require_own_uid() -> None:
    isolation = detect_isolation()
    if "uid" not in isolation.mechanisms or "hidepid" not in isolation.mechanisms:
        pytest.skip(f"mode {isolation.mode!r}: the candidate shares our uid and could signal us")


def test_killing_the_grader_and_the_parent_fails() -> None:
    _require_own_uid()  # in the weaker modes kill(-1) would hit the test runner itself
    program = (
        "import os, signal\n"
        "for target in (os.getppid(), -1):\n    try:\n        os.kill(target, signal.SIGKILL)\n"
        "    except OSError:\n        pass\n"
        "for pid in range(2, 70000):\n    try:\n        if pid != os.getpid():\n"
        "            os.kill(pid, signal.SIGSTOP)\n    except OSError:\n        pass\n" + WRONG
    )
    assert not _grade(program)


@pytest.mark.parametrize("forced_mode", ["userns", "guard"], indirect=True)
def test_grading_holds_in_the_weaker_modes(forced_mode: Isolation) -> None:
    right = WRONG.replace("+ 2", "+ 1")
    assert _grade(right) and _cases(right) == [True, True]
    for name in ("os._exit(0) at import", "always-equal object", "forged result lines on stdout, stderr, "
                 "fd 1/2 and /proc/self/fd", "monkeypatching the harness's functions"):  # fmt: skip
        assert not _grade(TRICKS[name]), name


def test_model_written_tests_are_sandboxed_too(tmp_path_factory: pytest.TempPathFactory) -> None:
    # Reflexion grades with asserts the model wrote: they run in the grader, which is
    # itself a sandboxed run (its own uid and mounts in ``full``), never on the host.
    isolation = detect_isolation()
    if "uid" not in isolation.mechanisms or "private-tmp" not in isolation.mechanisms:
        pytest.skip(f"mode {isolation.mode!r} has no uid of its own or private /tmp")
    target = f"/tmp/redraft_grader_escape_{secrets.token_hex(8)}"
    asserts = [
        f"open({target!r}, 'w').write('pwned')",
        "import os; assert os.getuid() != 0",
    ]
    results = asyncio.run(run_test_cases(WRONG, asserts, limits=LIMITS))
    assert results[1].passed, results[1].message
    import os

    assert not os.path.exists(target)

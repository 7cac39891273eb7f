"""A hostile corpus: each program must be contained, with a clear result, and leave no trace.

Assertions are on effects (was the file created? did the connection arrive? is
any sandbox process still alive?), not only on exit codes. Tests that need the
strongest mode skip, saying why, where this machine cannot give it.
"""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import uuid
from pathlib import Path

import pytest

from redraft.sandbox import Isolation, SandboxLimits, SandboxResult, detect_isolation, run_python, runner
from redraft.sandbox import _isolation as iso
from redraft.sandbox._isolation import live_pids_of

HERE = Path(__file__).parent
FAST = SandboxLimits(wall_time_s=1.5)


def run(code: str, **kwargs) -> SandboxResult:
    return asyncio.run(run_python(code, **kwargs))


def require(*mechanisms: str) -> Isolation:
    """Skip unless every named mechanism is active on this machine."""
    isolation = detect_isolation()
    missing = [m for m in mechanisms if m not in isolation.mechanisms]
    if missing:
        pytest.skip(f"isolation mode {isolation.mode!r} lacks {missing}: {isolation.notes}")
    return isolation


def assert_no_survivors(result: SandboxResult) -> None:
    """No process of the run's uid is alive (only checkable when it had its own uid)."""
    if result.sandbox_uid is not None:
        assert live_pids_of(result.sandbox_uid) == []


@pytest.fixture
def allocated(monkeypatch: pytest.MonkeyPatch) -> dict[str, list]:
    """The uids and workdirs handed out during the test: other suites on this machine
    may run sandboxes at the same time, so global scans would be flaky."""
    seen: dict[str, list] = {"uids": [], "workdirs": []}
    real_uid, real_mkdtemp = iso.allocate_uid, runner.tempfile.mkdtemp

    def allocate_uid() -> int:
        seen["uids"].append(real_uid())
        return seen["uids"][-1]

    def mkdtemp(*args, **kwargs) -> str:
        seen["workdirs"].append(real_mkdtemp(*args, **kwargs))
        return seen["workdirs"][-1]

    monkeypatch.setattr(iso, "allocate_uid", allocate_uid)
    monkeypatch.setattr(runner.tempfile, "mkdtemp", mkdtemp)
    return seen


def test_isolation_is_reported() -> None:
    result = run("print('hi')")
    assert result.isolation is not None
    assert result.isolation == detect_isolation()
    assert "rlimits" in result.isolation.mechanisms


def test_infinite_loop_times_out() -> None:
    result = run("while True:\n    pass", limits=FAST)
    assert result.status == "timeout"
    assert "wall-clock" in result.reason
    assert 1.4 < result.duration_s < 3.0
    assert_no_survivors(result)


def test_cpu_limit_is_enforced_before_the_wall_clock() -> None:
    result = run("while True:\n    pass", limits=SandboxLimits(cpu_time_s=1, wall_time_s=8))
    assert result.status in ("timeout", "killed")
    assert result.duration_s < 4


@pytest.mark.parametrize("catching", [False, True], ids=["plain", "retrying"])
def test_fork_bomb_is_contained_and_cleaned_up(catching: bool) -> None:
    require("uid")  # as root without a uid drop RLIMIT_NPROC would not hold
    body = "    try:\n        os.fork()\n    except OSError:\n        pass" if catching else "    os.fork()"
    result = run(f"import os\nwhile True:\n{body}", limits=FAST)
    assert result.status in ("error", "timeout")
    assert_no_survivors(result)
    assert run("print('still alive')").stdout == "still alive\n"


def test_huge_allocation_is_a_memory_error() -> None:
    result = run("x = bytearray(10 * 1024**3)\nprint('allocated')")
    assert result.status == "memory"
    assert "MemoryError" in result.stderr
    assert "allocated" not in result.stdout


def test_huge_output_is_truncated_and_stopped() -> None:
    limits = SandboxLimits(max_output_bytes=10_000)
    result = run("while True:\n    print('x' * 1000)", limits=limits)
    assert result.status == "output_limit"
    assert result.truncated
    assert 0 < len(result.stdout) <= 10_000
    assert result.duration_s < 2


def test_file_size_limit() -> None:
    limits = SandboxLimits(max_file_bytes=100_000)
    result = run("open('big', 'wb').write(b'x' * 1_000_000)", limits=limits)
    assert result.status == "error"
    assert "File too large" in result.stderr


def test_writes_outside_the_workdir_do_not_reach_the_host() -> None:
    require("mntns", "readonly-fs", "private-tmp")
    tag = uuid.uuid4().hex
    targets = [f"/tmp/redraft_escape_{tag}", f"/var/tmp/redraft_escape_{tag}", f"/etc/redraft_{tag}"]
    victim = HERE / f"_victim_{tag}.txt"  # world-writable: only the read-only mount protects it
    victim.write_text("original")
    victim.chmod(0o666)
    try:
        code = "results = []\n"
        for path in [*targets, str(victim), "/etc/passwd"]:
            code += (
                f"try:\n    open({path!r}, 'a').write('pwned')\n    results.append('wrote')\n"
                "except OSError as e:\n    results.append(type(e).__name__)\n"
            )
        code += "print(results)"
        result = run(code)
        assert result.status == "ok", result.stderr
        for path in targets:
            assert not os.path.exists(path)
        assert victim.read_text() == "original"
        assert "pwned" not in Path("/etc/passwd").read_text()
    finally:
        victim.unlink()


def test_secrets_of_root_and_of_the_parent_are_unreadable(monkeypatch: pytest.MonkeyPatch) -> None:
    require("uid")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    secret = HERE / f"_secret_{uuid.uuid4().hex}.txt"
    secret.write_text("sk-root-only")
    secret.chmod(0o600)
    try:
        code = "import os\nprint(dict(os.environ))\n"
        for path in [str(secret), "/etc/shadow", "/root/.ssh/id_rsa", f"/proc/{os.getpid()}/environ"]:
            code += f"try:\n    print(open({path!r}).read())\nexcept OSError as e:\n    print('denied', e)\n"
        code += "try:\n    print(os.listdir('/root'))\nexcept OSError as e:\n    print('denied', e)\n"
        result = run(code)
        assert result.status == "ok", result.stderr
        assert "sk-secret" not in result.stdout and "sk-root-only" not in result.stdout
        denials = [line for line in result.stdout.splitlines() if line.startswith("denied")]
        assert len(denials) == 5, result.stdout
    finally:
        secret.unlink()


def test_environment_is_not_inherited(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    result = run("import os\nprint(sorted(os.environ))\nprint(os.environ.get('OPENAI_API_KEY'))")
    assert "sk-secret" not in result.stdout
    assert result.stdout.splitlines()[-1] == "None"


def _listener() -> socket.socket:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    return server


def _connect_code(port: int) -> str:
    return (
        "import socket\n"
        "try:\n"
        f"    socket.create_connection(('127.0.0.1', {port}), timeout=2)\n    print('connected')\n"
        "except OSError as e:\n    print('blocked', type(e).__name__, e)\n"
    )


def test_no_network() -> None:
    server = _listener()
    try:
        result = run(_connect_code(server.getsockname()[1]))
        assert result.stdout.startswith("blocked"), result.stdout + result.stderr
        with pytest.raises(BlockingIOError):
            server.accept()
    finally:
        server.close()


@pytest.mark.parametrize("forced_mode", ["userns", "guard"], indirect=True)
def test_network_is_blocked_in_weaker_modes(forced_mode: Isolation) -> None:
    server = _listener()
    try:
        result = run(_connect_code(server.getsockname()[1]))
        assert result.isolation == forced_mode
        assert result.stdout.startswith("blocked"), result.stdout + result.stderr
        with pytest.raises(BlockingIOError):
            server.accept()
    finally:
        server.close()


def test_shell_runs_but_cannot_escape() -> None:
    require("uid", "private-tmp")
    tag = uuid.uuid4().hex
    code = (
        "import os, subprocess\n"
        f"subprocess.run(['sh', '-c', 'echo pwned > /tmp/redraft_sh_{tag}'])\n"
        f"os.system('echo pwned > /var/tmp/redraft_sys_{tag}; id -u')\n"
    )
    result = run(code)
    assert result.status == "ok", result.stderr
    assert result.stdout.strip() == str(result.sandbox_uid)  # the shell ran, unprivileged
    assert not os.path.exists(f"/tmp/redraft_sh_{tag}")
    assert not os.path.exists(f"/var/tmp/redraft_sys_{tag}")
    assert_no_survivors(result)


def test_daemons_that_leave_the_process_group_are_killed() -> None:
    require("uid")
    code = (
        "import subprocess\n"
        "subprocess.Popen(['sleep', '60'], start_new_session=True)\n"
        "subprocess.Popen(['sh', '-c', 'sleep 60 &'])\n"
        "print('spawned')"
    )
    result = run(code)
    assert result.status == "ok" and result.stdout == "spawned\n"
    assert result.duration_s < 2  # did not wait for the daemons
    assert_no_survivors(result)


def test_other_processes_are_hidden() -> None:
    require("hidepid")
    result = run("import os\nprint(len([p for p in os.listdir('/proc') if p.isdigit()]))")
    assert result.stdout.strip() == "1"


def test_cancelling_the_caller_kills_the_run(allocated: dict[str, list]) -> None:
    require("uid")

    async def cancel_midway() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(run_python("while True:\n    pass"), timeout=0.5)

    asyncio.run(cancel_midway())
    assert allocated["uids"] and all(live_pids_of(uid) == [] for uid in allocated["uids"])
    assert allocated["workdirs"] and not any(map(os.path.exists, allocated["workdirs"]))


def test_workdir_is_private_and_removed() -> None:
    result = run("import os\nprint(os.getcwd())\nprint(oct(os.stat('.').st_mode))")
    workdir = result.stdout.splitlines()[0]
    assert os.path.basename(workdir).startswith("redraft-sbx-")
    assert not os.path.exists(workdir)
    assert stat.S_IMODE(int(result.stdout.splitlines()[1], 8)) == 0o700

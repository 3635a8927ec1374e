"""The container's zygote (PID 1 forks each batch's fork server: ``sandbox.runtime.zygote``):
it is used, candidates see the same interpreter as with a fork server started afresh, no test
can reach it, and a test that tampers with it sends the agent back to new interpreters.

Same conventions as ``test_hostile.py``: an attack prints ``PWNED: <what>`` for every way it
got through and ``SAFE`` otherwise.
"""

from __future__ import annotations

import os
import textwrap
import uuid
from collections.abc import AsyncIterator, Sequence

import pytest

from sandbox import DockerConfig, Limits, Program, Sandbox, TestCase, TestOutcome, Verdict, make_sandbox
from sandbox._docker.backend import DockerSandbox
from sandbox.image.recipe import image_tag
from tests.sandbox.test_hostile import SAFE, assert_safe, attack, describe, run

pytestmark = [pytest.mark.anyio, pytest.mark.docker]

ROOMY = Limits(cpu_seconds=3, wall_seconds=10, memory_mb=512)
ORIGIN = Program.single(
    "python",
    textwrap.dedent(
        """
        import os
        with open(f"/proc/{os.getppid()}/stat") as fh:
            server_parent = int(fh.read().rpartition(")")[2].split()[1])
        print("zygote" if server_parent == 1 else "exec")
        """
    ),
)
"""Where the test's fork server came from: forked by PID 1, or started by the agent."""
INTERPRETER = Program.single(
    "python",
    textwrap.dedent(
        """
        import builtins, os, sys
        print(sys.path[1:], sys.flags, sys.executable, sys.getfilesystemencoding())
        print(hasattr(builtins, "exit"), hasattr(builtins, "quit"), hasattr(builtins, "copyright"))
        print(sorted(os.environ), os.getcwd() == os.path.dirname(os.path.abspath(sys.argv[0])))
        print(os.getpriority(os.PRIO_PROCESS, 0), os.sched_getscheduler(0), len(os.sched_getaffinity(0)))
        with open("/proc/self/status") as fh:
            print([line for line in fh if line.startswith(("SigBlk", "SigIgn", "SigCgt"))])
        with open("/proc/self/limits") as fh:
            print(fh.read())
        """
    ),
)
"""What a candidate can observe of the interpreter it runs in (the same either way)."""


async def origin(box: Sandbox) -> str:
    """Where the next batch's fork server comes from (with the limits of every batch here: a
    batch of other limits would go to a container of another shape)."""
    outcomes = await run(box, ORIGIN, expected=None, limits=ROOMY)
    assert outcomes[0].verdict is Verdict.AC, describe(outcomes)
    return outcomes[0].stdout.text.strip()


@pytest.fixture
async def unhardened_box(docker_available: bool, anyio_backend: str) -> AsyncIterator[Sandbox]:
    """One container under the engine's default seccomp profile, as on an engine that refuses
    ours: there a test may change another process's limits and scheduling state, PID 1's too."""
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    image = image_tag(os.environ.get("CODESOLVE_TEST_PYTHON") or None)  # as the session's docker_box
    box = await make_sandbox(DockerConfig(pool_size=1, run_id=f"pytest-zygote-{uuid.uuid4().hex[:8]}", image=image))
    assert isinstance(box, DockerSandbox)
    box.placement.hardened = False  # what the backend does itself when an engine refuses our profile
    try:
        yield box
    finally:
        await box.aclose()


async def test_fork_servers_are_forked_by_the_zygote(docker_box: Sandbox) -> None:
    for _ in range(3):  # later batches, whichever container of the pool they land in
        assert await origin(docker_box) == "zygote"


RANDOM = Program.single("python", "import random\nprint(random.getrandbits(64))\n")


async def test_each_test_draws_its_own_randomness(docker_box: Sandbox) -> None:
    # Every fork server comes from the same PID 1: nothing it holds may be random state every
    # test would share. Two tests of a batch, and two batches, draw different numbers.
    assert await origin(docker_box) == "zygote"
    draws = []
    for _ in range(2):
        batch = await docker_box.run_tests(RANDOM, [TestCase(), TestCase()], ROOMY)
        assert [o.verdict for o in batch] == [Verdict.AC, Verdict.AC], describe(batch)
        draws += [o.stdout.text.strip() for o in batch]
    assert len(set(draws)) == 4, draws


TAMPER = attack(
    """
    import ctypes, resource

    class Limit(ctypes.Structure):
        _fields_ = [("cur", ctypes.c_ulong), ("max", ctypes.c_ulong)]

    libc = ctypes.CDLL(None, use_errno=True)
    IOPRIO_SET = {"x86_64": 251, "aarch64": 30}.get(os.uname().machine)
    changed = []
    # PID 1 forks every later fork server: whatever it has, they inherit.
    for which, cap in ((resource.RLIMIT_AS, 250 << 20), (resource.RLIMIT_CPU, 1), (resource.RLIMIT_NOFILE, 16)):
        if libc.prlimit(1, which, ctypes.byref(Limit(cap, cap)), None) == 0:
            changed.append(f"rlimit {which}")
    steps = {"nice": lambda: os.setpriority(os.PRIO_PROCESS, 1, 19),
             "idle": lambda: os.sched_setscheduler(1, os.SCHED_IDLE, os.sched_param(0)),
             "cpus": lambda: os.sched_setaffinity(1, {min(os.sched_getaffinity(0))})}
    for name, step in steps.items():
        try:
            step()
            changed.append(name)
        except OSError:
            pass
    if IOPRIO_SET is not None and libc.syscall(IOPRIO_SET, 1, 1, 3 << 13) == 0:
        changed.append("ioprio")
    print("changed:", " ".join(changed))
    """
)
VICTIM = attack(
    """
    import resource, time
    found = []
    if os.getpriority(os.PRIO_PROCESS, 0) != 0 or os.sched_getscheduler(0) != os.SCHED_OTHER:
        found.append("reniced or idled")
    block = bytearray(300 << 20)  # more than the 250 MB the attack left PID 1
    start = time.process_time()
    while time.process_time() - start < 1.5:  # more than the 1 s of CPU it left PID 1
        pass
    report(found)
    """
)


async def test_a_zygote_a_test_tampered_with_forks_no_more(unhardened_box: Sandbox) -> None:
    assert await origin(unhardened_box) == "zygote"
    outcomes = await run(unhardened_box, TAMPER, expected=None, limits=ROOMY)
    assert outcomes[0].verdict is Verdict.AC, describe(outcomes)
    assert "rlimit" in outcomes[0].stdout.text, describe(outcomes)
    assert "nice" in outcomes[0].stdout.text, describe(outcomes)
    # The next batch, another program: its full memory and CPU, at its normal priority...
    assert_safe(await run(unhardened_box, VICTIM, limits=ROOMY))
    # ... from a fork server the agent started afresh, for good.
    assert await origin(unhardened_box) == "exec"
    assert_safe(await run(unhardened_box, VICTIM, limits=ROOMY))


async def test_candidates_see_the_same_interpreter_from_the_zygote_as_afresh(unhardened_box: Sandbox) -> None:
    def observed(outcomes: Sequence[TestOutcome]) -> str:
        assert [o.verdict for o in outcomes] == [Verdict.AC], describe(outcomes)
        return outcomes[0].stdout.text

    assert await origin(unhardened_box) == "zygote"
    zygote = observed(await run(unhardened_box, INTERPRETER, expected=None, limits=ROOMY))
    assert "True True True" in zygote  # site ran: exit(), quit() and co. exist for candidates
    renice = attack("os.setpriority(os.PRIO_PROCESS, 1, 1)\nprint('SAFE')\n")  # the zygote forks no more
    assert_safe(await run(unhardened_box, renice, limits=ROOMY))
    assert await origin(unhardened_box) == "exec"
    assert observed(await run(unhardened_box, INTERPRETER, expected=None, limits=ROOMY)) == zygote


REACH = attack(
    """
    import socket
    found = []
    names = {b"\\0codesolve-zygote"}
    with open("/proc/net/unix") as fh:
        for row in fh.read().splitlines()[1:]:
            fields = row.split()
            if len(fields) >= 8 and fields[7].startswith("@"):
                names.add(b"\\0" + fields[7][1:].encode())
            if len(fields) >= 8 and int(fields[3], 16) & 0x10000:  # __SO_ACCEPTCON: listening
                found.append(f"a socket listens: {row.strip()}")
    for name in names:
        for kind in (socket.SOCK_SEQPACKET, socket.SOCK_STREAM, socket.SOCK_DGRAM):
            with socket.socket(socket.AF_UNIX, kind) as sock:
                try:
                    sock.connect(name)
                    found.append(f"connected to {name!r} ({kind})")
                except OSError:
                    pass
    try:
        found.append(f"listed /proc/1/fd: {os.listdir('/proc/1/fd')}")
    except OSError:
        pass
    for fd in range(64):
        try:
            os.close(os.open(f"/proc/1/fd/{fd}", os.O_RDWR))
            found.append(f"opened /proc/1/fd/{fd}")
        except OSError:
            pass
    report(found)
    """
)


async def test_no_test_can_reach_the_zygote(docker_box: Sandbox) -> None:
    assert_safe(await run(docker_box, REACH, ["\n", "\n"], limits=ROOMY), count=2)
    assert await origin(docker_box) == "zygote"


FORK_BOMB = attack("while True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n")
KILL_SERVER = attack(
    """
    import signal
    if input() == "kill":
        os.kill(os.getppid(), signal.SIGKILL)
    print("SAFE")
    """
)


async def test_the_zygote_survives_a_fork_bomb_and_a_killed_fork_server(docker_box: Sandbox) -> None:
    bomb = await run(docker_box, FORK_BOMB, limits=Limits(cpu_seconds=1, wall_seconds=1.5))
    assert bomb[0].verdict in {Verdict.TLE, Verdict.RE}, describe(bomb)
    assert await origin(docker_box) == "zygote"
    tests = [TestCase(stdin=word, expected=SAFE, name=word) for word in ("kill", "again")]
    outcomes = await docker_box.run_tests(KILL_SERVER, tests, ROOMY)
    assert [o.verdict for o in outcomes] == [Verdict.RE, Verdict.AC], describe(outcomes)
    for _ in range(2):
        assert await origin(docker_box) == "zygote"

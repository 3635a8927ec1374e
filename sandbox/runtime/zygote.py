"""The fork server: one warmed interpreter that forks a child per test.

Standard library only; it runs inside the sandbox. It never sees expected
outputs (those stay in the driver, which is not dumpable), so a hostile test
child, which is a copy of this process, finds nothing worth reading here.

Protocol on the ``SOCK_SEQPACKET`` socket it is given (one :mod:`marshal`-ed
dict per packet, file descriptors attached with SCM_RIGHTS; call arguments travel on the
child's stdin, so packets stay small):

* ``{"op": "setup", "cwd": ..., "env": {...}, "warm": ..., "run": {...}}``
  → ``{"ready": true}``: adopt a batch (its work dir, environment, and the run
  parameters every test shares: limits, runner, entry...) and import, once, the
  standard modules its program names. It is separate from start-up so that a
  fork server can be started ahead of its batch, while the sandbox is idle;
* :data:`RUN`, or ``{"op": "run"}`` + any run parameter to override, + fds
  ``[stdin, stdout, stderr, working directory]`` → ``{"exit_code": ..., "signal": ..., "cpu": ..., "timed_out": ...}``;
* ``{"op": "quit"}``.

After every run it kills whatever the test left behind: it is a child
subreaper, so orphans of the test come back to it and can be found.
"""

from __future__ import annotations

import _socket
import ctypes
import errno
import gc
import marshal
import os
import resource
import select
import sys
import time
import types

# Every byte this process holds is mapped into each test child and torn down
# with it, so it imports only C modules and small ones: not `socket` or `signal`
# (their enums pull in collections and functools), not `typing`, `re` or `json`.
_signal: Any = __import__("_signal")  # the C core of `signal`, which has no stubs of its own
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any
if __name__ != "__main__":  # as the fork server, procs.py runs first, in this same namespace
    from sandbox.runtime.procs import TreeWatch, kill_descendants, sched_state, watch_children

PR_SET_CHILD_SUBREAPER = 36
PR_SET_DUMPABLE = 4
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
CLONE_NEWIPC = 0x08000000
_MSG = 65536
_ANCILLARY = _socket.CMSG_SPACE(8 * 4)


_LIBC = ctypes.CDLL(None, use_errno=True)
"""Loaded once: every test child inherits it (a fresh load per child costs page copies)."""


def isolate_network() -> str:
    """Move into a fresh network namespace (no interfaces but a down loopback) and IPC namespace
    (then each test child makes one of its own: no IPC object outlives its test).

    Returns the isolation reached: ``netns``, ``userns+netns`` or ``none``, + ``+ipc``.
    """
    for flags, name in ((0, "netns"), (CLONE_NEWUSER, "userns+netns")):
        for ipc in (CLONE_NEWIPC, 0):
            if _LIBC.unshare(flags | CLONE_NEWNET | ipc) == 0:
                _PRIVATE_IPC[:] = [ipc]
                return name + ("+ipc" if ipc else "")
    return "none"


_PRIVATE_IPC = [0]
"""CLONE_NEWIPC when each test child unshares its IPC namespace (the local backend, where it can)."""


_OWN_LIMITS: list[tuple[int, tuple[int, int]]] = []
"""The rlimits each test child sets itself (CPU time, process count: see :func:`limit_batch`)."""
_INHERITED: list[tuple[Any, ...]] = []
"""Every rlimit and the scheduling state of the fork server once it set up its batch (what
each test child inherits)."""
_PER_CHILD = (resource.RLIMIT_CPU, getattr(resource, "RLIMIT_NPROC", -1))
_RLIMITS = sorted({getattr(resource, name) for name in dir(resource) if name.startswith("RLIMIT_")})


def plan_limits(limits: dict[str, Any], as_slack: int, nproc: int = 0) -> list[tuple[int, tuple[int, int]]]:
    """The rlimits of a test: (resource, (soft, hard)) in the order they are set."""
    cpu = max(1, int(limits["cpu"] + 0.999))
    fsize = max(int(limits["output"]) + 1, int(limits["fsize"]))
    plan = [
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_FSIZE, (fsize, fsize)),
        (resource.RLIMIT_CORE, (0, 0)),
        (resource.RLIMIT_NOFILE, (256, 256)),
    ]
    if nproc:
        # Local, non-root only: RLIMIT_NPROC counts every process of the uid on the
        # machine, so in containers (one shared uid) the pids cgroup bounds tests instead.
        plan.append((resource.RLIMIT_NPROC, (nproc, nproc)))
    mem = int(limits["memory_mb"]) * 1024 * 1024
    if as_slack:
        # Local backend only: no cgroup there, so the address space is the backstop.
        plan.append((resource.RLIMIT_AS, (mem + as_slack, mem + as_slack)))
    stack = _stack_limit(mem, int(limits.get("stack_cap", 0)))
    if stack is not None:
        plan.append((resource.RLIMIT_STACK, stack))
    return plan


def _stack_limit(mem: int, cap: int) -> tuple[int, int] | None:
    # Deep recursion is legitimate up to most of the memory limit; a stack that
    # overflows must still fault (RE) before the peak memory passes the limit (MLE).
    want = mem * 3 // 4
    if cap:
        want = min(want, cap)  # local backend: thread stacks count against its address-space limit
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    want = want if hard == resource.RLIM_INFINITY else min(want, hard)
    return (want, hard) if want != soft else None


def _apply_limits(plan: list[tuple[int, tuple[int, int]]]) -> None:
    for which, value in plan:
        try:
            resource.setrlimit(which, value)
        except (ValueError, OSError):
            if which != resource.RLIMIT_STACK:
                raise  # a test without its limits must not run; the stack is only a convenience


_COMPILED: dict[str, types.CodeType] = {}
"""Code objects compiled once in the fork server after a child's syntax check succeeded."""
_HARNESS: Any = None
"""How a test child runs Python (:mod:`sandbox.runtime.harness`, loaded from source at start-up)."""


def load_harness(code: types.CodeType) -> Any:
    """The harness as a module of its own, from the code the driver compiled at start-up."""
    module = types.ModuleType("_sandbox_harness")
    exec(code, module.__dict__)
    return module


def stdio() -> tuple[IO[str], IO[str], IO[str]]:
    """Text streams on fds 0, 1 and 2, as ``python3 main.py`` would have them."""
    return (
        open(0, encoding="utf-8", errors="surrogateescape", closefd=False),
        open(1, "w", encoding="utf-8", errors="surrogateescape", closefd=False),
        open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False),
    )


def _child(req: dict[str, Any], fds: list[int]) -> None:
    """In the forked child: isolate, limit, redirect, then run. Never returns."""
    try:
        os.setsid()
        # A descriptor, not a path: a walk from `/` is a round trip to the fuse daemon
        # where the container's root is fuse-overlayfs.
        os.fchdir(fds[3])
        os.dup2(fds[0], 0)
        os.dup2(fds[1], 1)
        os.dup2(fds[2], 2)
        channel = _HARNESS.RESULT_FD
        if len(fds) > 4:  # the result channel of a call or check test, never inherited by an exec
            os.dup2(fds[4], channel, inheritable=False)
        os.closerange(3, channel)
        os.closerange(channel + 1, 65536)
        if _PRIVATE_IPC[0] and _LIBC.unshare(_PRIVATE_IPC[0]) != 0:
            raise OSError(ctypes.get_errno(), "no IPC namespace of its own")
        # Only now, with nothing of ours left open (the socket to the driver went
        # with closerange): the fork server is not dumpable (so a test cannot
        # ptrace it or read its memory); the test itself is, so that /proc/self
        # and /dev/stdin work.
        _LIBC.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
        # The other limits, the umask and SIGPIPE's action were set in the fork
        # server at setup, and came with the fork. Python ignores SIGXFSZ; an
        # exec'd program would inherit that and spin on EFBIG instead of dying at
        # the output limit (the fork server itself keeps ignoring it).
        _apply_limits(_OWN_LIMITS)
        _signal.signal(_signal.SIGXFSZ, _signal.SIG_DFL)
        if req["runner"] == "fork":
            os._exit(_HARNESS.run(req, _STDIO, _HOME, _COMPILED.get(req["entry"])))
        argv = req["argv"]
        os.execvpe(argv[0], argv, req["env"])
    except BaseException as exc:
        try:
            os.write(2, f"sandbox: could not start the program: {exc!r}\n".encode())
        finally:
            os._exit(127)


_TICK_S = 0.05
"""How often the tree of a running test is measured (a test that ends sooner never is)."""


def _wait(pid: int, wall: float, watch: TreeWatch) -> tuple[int, Any, bool, float]:
    start = time.monotonic()
    pidfd = os.pidfd_open(pid)
    timed_out = False
    try:
        while True:
            left = start + wall - time.monotonic()
            if select.select([pidfd], [], [], max(0.0, min(left, _TICK_S)))[0]:
                break
            # Over the wall limit, or its tree (children it never waits for too) over a limit.
            if left <= _TICK_S or watch.over(os.getpid()):
                timed_out = left <= _TICK_S
                _kill_group(pid)
                break
    finally:
        os.close(pidfd)
    while True:
        try:
            _, status, usage = os.wait4(pid, 0)
            break
        except InterruptedError:
            continue
    return status, usage, timed_out, time.monotonic() - start


def _kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, _signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


RUN = b"R"
"""A run request with nothing to override: the common case, sent without encoding anything."""


def receive(sock: _socket.socket) -> tuple[dict[str, Any] | None, list[int]]:
    """The next request and the descriptors that came with it; ``(None, [])`` when the driver is gone."""
    msg, ancillary, _, _ = sock.recvmsg(_MSG, _ANCILLARY)
    fds: list[int] = []
    for level, kind, data in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            fds += memoryview(data)[: len(data) - len(data) % 4].cast("i").tolist()
    if not msg:
        return None, fds
    # marshal, not json: it is built in (json would add a megabyte to every
    # fork), and both ends are ours, neither reachable by a test.
    return (_BATCH if msg == RUN else {**_BATCH, **marshal.loads(msg)}), fds


def serve(sock: _socket.socket) -> None:
    """Answer run requests until told to quit or the driver goes away."""
    while True:
        req, fds = receive(sock)
        if req is None:
            return
        op = req.get("op", "run")
        if op == "quit":
            return
        if op == "setup":
            setup(req)
            sock.send(marshal.dumps({"ready": True}), _socket.MSG_NOSIGNAL)
            continue
        pid = os.fork()
        if pid == 0:
            _child(req, fds)
        for fd in fds:
            os.close(fd)
        sock.send(marshal.dumps(_reap_test(pid, req)), _socket.MSG_NOSIGNAL)


def _reap_test(pid: int, req: dict[str, Any]) -> dict[str, Any]:
    """Wait for the test (killing it at its wall limit), then everything it left; its report."""
    watch = TreeWatch(req["limits"])
    status, usage, timed_out, wall = _wait(pid, float(req["limits"]["wall"]), watch)
    leftovers = kill_descendants(os.getpid())  # (each one reaped adds its usage to the test's)
    cpu, maxrss_kb = watch.totals(usage.ru_utime + usage.ru_stime, usage.ru_maxrss)
    if req.get("compile_only") and status == 0:
        # The syntax check passed in a limited child: compiling here is now safe,
        # and every later child starts from the ready code object.
        _COMPILED[req["entry"]] = _HARNESS.load_code(req["entry"])
    return {
        "exited": os.WIFEXITED(status),
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "cpu": cpu,
        "maxrss_kb": maxrss_kb,
        "timed_out": timed_out,
        "wall": wall,
        "leftovers": leftovers,
        "stale": not limits_intact(),
    }


_STDIO: tuple[IO[str], IO[str], IO[str]] | None = None
"""The test children's sys.stdin/stdout/stderr, made at setup (see :func:`setup`)."""
_HOME = ""
"""The program's directory: a test child's ``sys.path[0]``."""
_BATCH: dict[str, Any] = {}
"""Run parameters every test of the batch shares (sent once, at setup)."""


def limit_batch(plan: list[tuple[int, tuple[int, int]]]) -> None:
    """Set what every test child inherits, here, once: the umask, SIGPIPE's default
    action, and the rlimits but two that each child sets itself: CPU time (it
    counts a process's own time) and the process count (our own forks count
    against it).

    A fork server serves one batch, so lowering its own hard limits costs
    nothing (see :func:`limits_intact` for a test that lowers them further).
    Python ignores SIGPIPE; an exec'd program would inherit that. Our own writes
    on the socket pass MSG_NOSIGNAL: a driver gone is an error, not a signal.
    """
    _OWN_LIMITS[:] = [(which, value) for which, value in plan if which in _PER_CHILD]
    _apply_limits([(which, value) for which, value in plan if which not in _PER_CHILD])
    # Every limit as it now is (the stack limit may have been refused), to compare with later.
    _INHERITED[:] = [*all_rlimits(), sched_state()]
    os.umask(0o077)
    _signal.signal(_signal.SIGPIPE, _signal.SIG_DFL)


def all_rlimits() -> list[tuple[int, tuple[int, int]]]:
    """Every rlimit of this process, the ones no batch plans included."""
    return [(which, resource.getrlimit(which)) for which in _RLIMITS]


def limits_intact() -> bool:
    """Whether our rlimits (all of them) and scheduling state are still those of the batch.

    A test runs as our uid, so it may lower them with prlimit(2), or renice us, make us
    SCHED_IDLE, narrow our CPUs; every later child would inherit that. (This is a test
    hurting its own program; a fork server that finds it says so in its report, and the
    driver gives the next test a new one.)
    """
    return [*all_rlimits(), sched_state()] == _INHERITED


def setup(req: dict[str, Any]) -> None:
    """Adopt a batch: its directory and environment (inherited by every test child), its imports."""
    run = req["run"]
    _BATCH.clear()
    _BATCH.update(run)
    limit_batch(plan_limits(run["limits"], int(run.get("as_slack", 0)), int(run.get("nproc", 0))))
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    warm(list(req.get("warm") or []))
    if req.get("precompile"):
        # The same source passed a syntax check in a limited child, in an earlier batch.
        _COMPILED[run["entry"]] = _HARNESS.load_code(run["entry"])
    global _STDIO, _HOME
    # Made once, never used here: each child finds them ready, on its own fds 0-2
    # (its memfds, after dup2), with empty buffers. Cheaper than three per child.
    _STDIO = stdio()
    _HOME = os.path.dirname(os.path.abspath(run["entry"]))
    # Everything alive now is shared with every child: keep the children's
    # collector off it, so it does not copy those pages on write.
    gc.freeze()


def warm(names: list[str]) -> None:
    """Import, once, what every test child would otherwise import again.

    Only standard-library modules named by the program are imported here (the
    driver picks them: see ``forkserver.stdlib_imports``): the fork server must
    never run the candidate's own code (that happens only in limited children).
    """
    for name in names:
        if name not in sys.stdlib_module_names:
            continue
        try:
            __import__(name)
        except Exception:  # a module failing here fails in the child too, with a traceback
            pass


def main(sock: _socket.socket, harness: types.CodeType, argv: list[str]) -> int:
    """Entry point, called by the boot line (``forkserver.BOOT``) with the socket, the harness's
    code and the flags (``[--isolate-net]``); a ``setup`` message then gives it its batch."""
    global _HARNESS
    _HARNESS = load_harness(harness)
    isolation = isolate_network() if "--isolate-net" in argv else "container"
    _LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    watch_children()
    # Inherited by every test child: under memory pressure the kernel kills a
    # test (the largest of them) rather than the driver. Set once here, since a
    # write to /proc per child costs more than the rest of the fork.
    with open("/proc/self/oom_score_adj", "w") as fh:
        fh.write("1000")
    # Only now (a non-dumpable process's /proc entries belong to root): from here
    # on, no test can ptrace the fork server or read its memory.
    _LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    sock.send(marshal.dumps({"ready": True, "isolation": isolation}))
    try:
        serve(sock)
    except (BrokenPipeError, ConnectionResetError):
        pass
    except OSError as exc:
        if exc.errno != errno.EBADF:
            raise
    kill_descendants(os.getpid())
    return 0

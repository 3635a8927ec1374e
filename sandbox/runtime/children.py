"""Running one test in the fork server: the child it forks, and the reaping after it.
Standard library only; part of the fork server's source (see ``forkclient.SERVER_SOURCE``).

The child isolates itself, takes its limits and descriptors, then runs the program (Python:
in the warmed interpreter, through the harness; anything else: exec). The fork server waits
for it up to its wall limit, measures its whole process tree, kills whatever it left behind,
and reports (:func:`reap_test`).
"""

from __future__ import annotations

import ctypes
import os
import select
import time
import types

_signal: Any = __import__("_signal")  # the C core of `signal`, which has no stubs of its own
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import IO, Any

    from sandbox.runtime.wire import Run, RunReport
if __name__ != "__main__":  # in the fork server, these run first, in this same namespace
    from sandbox.runtime.procs import LIBC, TreeWatch, kill_descendants
    from sandbox.runtime.rlimits import OWN_LIMITS, apply_limits, limits_intact

PR_SET_DUMPABLE = 4


class ServerState:
    """What the fork server holds for its batch; every test child inherits it with the fork."""

    def __init__(self) -> None:
        self.harness: Any = None
        """How a test child runs Python (:mod:`sandbox.runtime.harness`), from the driver's code."""
        self.stdio: tuple[IO[str], IO[str], IO[str]] | None = None
        """The test children's sys.stdin/stdout/stderr, made at setup."""
        self.home = ""
        """The program's directory: a test child's ``sys.path[0]``."""
        self.batch: dict[str, Any] = {}
        """Run parameters every test of the batch shares (sent once, at setup)."""
        self.compiled: dict[str, types.CodeType] = {}
        """Code objects compiled once in the fork server after a child's syntax check succeeded."""
        self.private_ipc = 0
        """CLONE_NEWIPC when each test child unshares its IPC namespace (the local backend, where it can)."""


SERVER = ServerState()


def start_child(req: Run, fds: list[int], compiled: int = -1) -> None:
    """In the forked child: isolate, limit, redirect, then run. Never returns.

    ``compiled`` is the write end of the pipe on which the harness says the program compiled
    (with ``compile_first``), or -1."""
    try:
        os.setsid()
        # A descriptor, not a path: a walk from `/` is a round trip to the fuse daemon
        # where the container's root is fuse-overlayfs.
        os.fchdir(fds[3])
        os.dup2(fds[0], 0)
        os.dup2(fds[1], 1)
        os.dup2(fds[2], 2)
        channel, marker = SERVER.harness.RESULT_FD, SERVER.harness.COMPILED_FD
        if compiled >= 0:  # (the pipe and the received fds are low numbers: no clash)
            os.dup2(compiled, marker, inheritable=False)
        if len(fds) > 4:  # the result channel of a call or check test, never inherited by an exec
            os.dup2(fds[4], channel, inheritable=False)
        os.closerange(3, marker if compiled >= 0 else channel)
        os.closerange(channel + 1, 65536)
        if SERVER.private_ipc and LIBC.unshare(SERVER.private_ipc) != 0:
            raise OSError(ctypes.get_errno(), "no IPC namespace of its own")
        # Only now, with nothing of ours left open (the socket to the driver went
        # with closerange): the fork server is not dumpable (so a test cannot
        # ptrace it or read its memory); the test itself is, so that /proc/self
        # and /dev/stdin work.
        LIBC.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
        # The other limits, the umask and SIGPIPE's action were set in the fork
        # server at setup, and came with the fork. Python ignores SIGXFSZ; an
        # exec'd program would inherit that and spin on EFBIG instead of dying at
        # the output limit (the fork server itself keeps ignoring it).
        apply_limits(OWN_LIMITS)
        _signal.signal(_signal.SIGXFSZ, _signal.SIG_DFL)
        if req["runner"] == "fork":
            os._exit(SERVER.harness.run(req, SERVER.stdio, SERVER.home, SERVER.compiled.get(req["entry"])))
        argv = req["argv"]
        if argv[0].startswith("/"):
            # From the test's directory too (the program is beside it, in the batch's directory):
            # the same file, since getcwd() says where we are; argv[0] stays as given.
            os.execve(os.path.relpath(argv[0], os.getcwd()), argv, req["env"])
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


def reap_test(pid: int, req: Run, compiled: int = -1) -> RunReport:
    """Wait for the test (killing it at its wall limit), then everything it left; its report.
    ``compiled``: the read end of the child's compile pipe (see :func:`start_child`), or -1."""
    watch = TreeWatch(req["limits"])
    status, usage, timed_out, wall = _wait(pid, float(req["limits"]["wall"]), watch)
    leftovers = kill_descendants(os.getpid())  # (each one reaped adds its usage to the test's)
    cpu, maxrss_kb = watch.totals(usage.ru_utime + usage.ru_stime, usage.ru_maxrss)
    extra: dict[str, bool] = {}
    if compiled >= 0:
        # Every writer is gone (the child closed its end before the program ran, and is dead):
        # this never blocks. Only the harness wrote here, so this is the syntax check's word.
        # (Not compiled here now: the program has run since, and may have rewritten its file.
        # The driver asks for it with the next run, once the file is restored: ``precompile``.)
        extra["compiled"] = os.read(compiled, 1) == b"1"
    return {
        **extra,  # type: ignore[typeddict-item]
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

"""The fork server: one warmed interpreter that forks a child per test.

Standard library only; it runs inside the sandbox. It never sees expected
outputs (those stay in the driver, which is not dumpable), so a hostile test
child, which is a copy of this process, finds nothing worth reading here.

Protocol on the ``SOCK_SEQPACKET`` socket it is given (one JSON message per
packet, file descriptors attached with SCM_RIGHTS; call arguments travel on the
child's stdin, so packets stay small):

* ``{"op": "setup", "cwd": ..., "env": {...}, "warm": ..., "run": {...}}``
  → ``{"ready": true}``: adopt a batch (its work dir, environment, and the run
  parameters every test shares: limits, runner, entry...) and import, once, the
  standard modules its program names. It is separate from start-up so that a
  fork server can be started ahead of its batch, while the sandbox is idle;
* ``{"op": "run"}`` (+ any run parameter to override) + fds
  ``[stdin, stdout, stderr, working directory]`` → ``{"exit_code": ..., "signal": ..., "cpu": ..., "timed_out": ...}``;
* ``{"op": "quit"}``.

After every run it kills whatever the test left behind: it is a child
subreaper, so orphans of the test come back to it and can be found.
"""

from __future__ import annotations

import ctypes
import errno
import gc
import json
import os
import re
import resource
import select
import signal
import socket
import sys
import time
import types
from typing import IO, Any

PR_SET_CHILD_SUBREAPER = 36
PR_SET_DUMPABLE = 4
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
_MSG = 65536
_IMPORT = re.compile(r"^[ \t]*(?:from[ \t]+([\w.]+)[ \t]+import|import[ \t]+([\w., \t]+))", re.MULTILINE)
_ALWAYS_WARM = ("traceback",)
_CALL_WARM = ("ast",)


_LIBC = ctypes.CDLL(None, use_errno=True)
"""Loaded once: every test child inherits it (a fresh load per child costs page copies)."""


def isolate_network() -> str:
    """Move into a fresh network namespace (no interfaces but a down loopback).

    Returns the isolation reached: ``netns``, ``userns+netns`` or ``none``.
    """
    libc = _LIBC
    if libc.unshare(CLONE_NEWNET) == 0:
        return "netns"
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0:
        return "userns+netns"
    return "none"


_LIMITS: list[tuple[int, tuple[int, int]]] = []
"""The batch's rlimits, worked out once at setup; every test child applies them."""


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


def load_code(entry: str) -> types.CodeType:
    """Compile the entry file under its bare name.

    A relative file name keeps tracebacks the same from batch to batch (and so
    keeps debug prompts, and their cache keys, reproducible).
    """
    with open(entry, encoding="utf-8") as fh:
        return compile(fh.read(), os.path.basename(entry), "exec")


def _run_python(entry: str, function: str | None, compile_only: bool) -> int:
    """Run the program in this (forked, limited) process the way ``python3 entry`` would."""
    assert _STDIO is not None, "a test runs only after setup"
    sys.stdin, sys.stdout, sys.stderr = _STDIO
    sys.argv = [entry]
    sys.path[0] = _HOME
    try:
        return _execute(entry, function, compile_only)
    finally:
        # The caller leaves with os._exit, which flushes nothing: without this a
        # traceback (or output printed before a crash) would be lost.
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass  # e.g. past the output limit: the verdict says so


def stdio() -> tuple[IO[str], IO[str], IO[str]]:
    """Text streams on fds 0, 1 and 2, as ``python3 main.py`` would have them."""
    return (
        open(0, encoding="utf-8", errors="surrogateescape", closefd=False),
        open(1, "w", encoding="utf-8", errors="surrogateescape", closefd=False),
        open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False),
    )


def _execute(entry: str, function: str | None, compile_only: bool) -> int:
    import builtins
    import traceback

    try:
        code = _COMPILED.get(entry) or load_code(entry)
        if compile_only:
            return 0
        module = types.ModuleType("__main__")
        module.__file__ = entry
        module.__dict__["__builtins__"] = builtins
        sys.modules["__main__"] = module
        exec(code, module.__dict__)
        if function is not None:
            _call(module, function)
        return 0
    except SystemExit as exc:
        return _exit_code(exc)
    except BaseException as exc:
        # Show the program's frames only, as `python3 main.py` would.
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename == _execute.__code__.co_filename:
            tb = tb.tb_next
        traceback.print_exception(type(exc), exc, tb)
        return 1


def _call(module: types.ModuleType, function: str) -> None:
    import ast

    target: Any = module
    head, _, method = function.partition(".")
    target = getattr(target, head)
    if method:
        target = getattr(target(), method)
    args = ast.literal_eval(sys.stdin.read())
    # What the function prints must not corrupt its answer: send it to stderr.
    real_stdout, sys.stdout = sys.stdout, sys.stderr
    try:
        result = target(*args)
    finally:
        sys.stdout = real_stdout
    print(repr(plain(result)))


def plain(value: Any, depth: int = 0) -> Any:
    """Mapping and sequence subclasses (Counter, defaultdict, deque…) as plain literals.

    Their own ``repr`` is not a Python literal, so a result that ``==`` the
    expected dict or list would otherwise fail the value checker.
    """
    import collections

    if depth > 200:
        return value
    if isinstance(value, dict):
        return {k: plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, collections.deque) or type(value) is list:
        return [plain(v, depth + 1) for v in value]
    if type(value) is tuple:
        return tuple(plain(v, depth + 1) for v in value)
    return value


def _exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def _child(req: dict[str, Any], fds: list[int]) -> None:
    """In the forked child: isolate, limit, redirect, then run. Never returns."""
    try:
        os.setsid()
        # The fork server is not dumpable (so a test cannot ptrace it or read its
        # memory); the test itself is, so that /proc/self and /dev/stdin work.
        _LIBC.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
        # A descriptor, not a path: a walk from `/` is a round trip to the fuse daemon
        # where the container's root is fuse-overlayfs.
        os.fchdir(fds[3])
        for target, fd in enumerate(fds[:3]):
            os.dup2(fd, target)
        os.closerange(3, 65536)
        os.umask(0o077)
        _apply_limits(_LIMITS)
        # Python ignores these; an exec'd program would inherit that and spin on
        # EFBIG instead of dying at the output limit.
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
        if req["runner"] == "fork":
            os._exit(_run_python(req["entry"], req.get("function"), req.get("compile_only", False)))
        argv = req["argv"]
        os.execvpe(argv[0], argv, req["env"])
    except BaseException as exc:
        try:
            os.write(2, f"sandbox: could not start the program: {exc!r}\n".encode())
        finally:
            os._exit(127)


def descendants(root: int) -> list[int]:
    """Every live process whose parent chain leads to ``root`` (excluding ``root``)."""
    parent: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        parent[int(name)] = int(fields[1])
    found: list[int] = []
    for pid in parent:
        cur, seen = pid, 0
        while cur in parent and seen < 4096:
            cur, seen = parent[cur], seen + 1
            if cur == root:
                found.append(pid)
                break
    return found


def kill_descendants(root: int, rounds: int = 200) -> int:
    """SIGKILL every descendant of ``root`` until none is left; return how many were killed.

    Repeats because a fork bomb keeps making new ones until its parents die.
    """
    killed = 0
    if root == os.getpid() and not _has_children():
        return 0  # the fast path: a subreaper with no children has no descendants at all
    for _ in range(rounds):
        _reap()
        pids = descendants(root)
        if not pids:
            return killed
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        time.sleep(0.001)
    return killed


def _has_children() -> bool:
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return True


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _wait(pid: int, wall: float) -> tuple[int, Any, bool, float]:
    start = time.monotonic()
    pidfd = os.pidfd_open(pid)
    timed_out = False
    try:
        ready, _, _ = select.select([pidfd], [], [], wall)
        if not ready:
            timed_out = True
            _kill_group(pid)
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
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def serve(sock: socket.socket) -> None:
    """Answer run requests until told to quit or the driver goes away."""
    while True:
        msg, fds, _, _ = socket.recv_fds(sock, _MSG, 8)
        if not msg:
            return
        req = json.loads(msg)
        if req["op"] == "quit":
            return
        if req["op"] == "setup":
            setup(req)
            sock.send(json.dumps({"ready": True}).encode())
            continue
        req = {**_BATCH, **req}
        pid = os.fork()
        if pid == 0:
            sock.close()
            _child(req, fds)
        for fd in fds:
            os.close(fd)
        status, usage, timed_out, wall = _wait(pid, float(req["limits"]["wall"]))
        leftovers = kill_descendants(os.getpid())
        if req.get("compile_only") and status == 0:
            # The syntax check passed in a limited child: compiling here is now safe,
            # and every later child starts from the ready code object.
            _COMPILED[req["entry"]] = load_code(req["entry"])
        reply = {
            "exited": os.WIFEXITED(status),
            "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
            "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
            "cpu": usage.ru_utime + usage.ru_stime,
            "maxrss_kb": usage.ru_maxrss,
            "timed_out": timed_out,
            "wall": wall,
            "leftovers": leftovers,
        }
        sock.send(json.dumps(reply).encode())


def stdlib_imports(source: str) -> list[str]:
    """Standard-library modules a program imports at top level (found by a regex, not by running it)."""
    names: list[str] = []
    for match in _IMPORT.finditer(source):
        for part in (match.group(1) or match.group(2) or "").split(","):
            top = part.strip().split(" ")[0].split(".")[0]
            if top in sys.stdlib_module_names and top not in names:
                names.append(top)
    return names


_STDIO: tuple[IO[str], IO[str], IO[str]] | None = None
"""The test children's sys.stdin/stdout/stderr, made at setup (see :func:`setup`)."""
_HOME = ""
"""The program's directory: a test child's ``sys.path[0]``."""
_BATCH: dict[str, Any] = {}
"""Run parameters every test of the batch shares (sent once, at setup)."""


def setup(req: dict[str, Any]) -> None:
    """Adopt a batch: its directory and environment (inherited by every test child), its imports."""
    run = req["run"]
    _BATCH.clear()
    _BATCH.update(run)
    _LIMITS[:] = plan_limits(run["limits"], int(run.get("as_slack", 0)), int(run.get("nproc", 0)))
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    if req.get("warm"):
        warm(run["entry"], bool(run.get("function")))
    global _STDIO, _HOME
    # Made once, never used here: each child finds them ready, on its own fds 0-2
    # (its memfds, after dup2), with empty buffers. Cheaper than three per child.
    _STDIO = stdio()
    _HOME = os.path.dirname(os.path.abspath(run["entry"]))
    # Everything alive now is shared with every child: keep the children's
    # collector off it, so it does not copy those pages on write.
    gc.freeze()


def warm(entry: str, call: bool) -> None:
    """Import, once, what every test child would otherwise import again.

    Only standard-library modules named by the program are imported here: the
    fork server must never run the candidate's own code (that happens only in
    limited children).
    """
    try:
        with open(entry, encoding="utf-8", errors="replace") as fh:
            names = stdlib_imports(fh.read())
    except OSError:
        names = []
    for name in (*_ALWAYS_WARM, *(_CALL_WARM if call else ()), *names):
        try:
            __import__(name)
        except Exception:  # a module failing here fails in the child too, with a traceback
            pass


def main(argv: list[str]) -> int:
    """Entry point: ``zygote.py FD [--isolate-net]``; a ``setup`` message then gives it its batch."""
    sock = socket.socket(fileno=int(argv[1]))
    isolation = isolate_network() if "--isolate-net" in argv else "container"
    _LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    # Inherited by every test child: under memory pressure the kernel kills a
    # test (the largest of them) rather than the driver. Set once here, since a
    # write to /proc per child costs more than the rest of the fork.
    with open("/proc/self/oom_score_adj", "w") as fh:
        fh.write("1000")
    # Only now (a non-dumpable process's /proc entries belong to root): from here
    # on, no test can ptrace the fork server or read its memory.
    _LIBC.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    for name in _ALWAYS_WARM:
        __import__(name)
    sock.send(json.dumps({"ready": True, "isolation": isolation}).encode())
    try:
        serve(sock)
    except (BrokenPipeError, ConnectionResetError):
        pass
    except OSError as exc:
        if exc.errno != errno.EBADF:
            raise
    kill_descendants(os.getpid())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

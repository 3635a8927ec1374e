"""PID 1's second job: the pristine interpreter every fork server of the container is forked
from (a *zygote*). Standard library only; part of PID 1's source, ahead of
:mod:`sandbox.runtime.init` (see ``containers.init_source``), so it imports only what a fork
server imports anyway: every byte PID 1 holds is mapped into each fork server and test child.

A fresh interpreter per batch cost most of a one-test batch's CPU; a ``fork()`` of this one
costs a fraction of it. The agent (:mod:`sandbox.runtime.agent`) connects once, at boot,
before any test can run, and sends the fork server's compiled code (``forkclient.SERVER_CODE``);
then, for each fork server, a :class:`~sandbox.runtime.wire.ZygoteFork` with the fork server's
end of its socket pair and its stderr memory file (SCM_RIGHTS). We fork; the child drops all
it inherited from PID 1 (descriptors first) and becomes the fork server; we answer with a pidfd
of the child, so that the agent can watch and kill it with no pid-reuse race.

Why a zygote is as safe as a fresh interpreter per batch:

* it never receives batch data (only our code, a directory and ``forkclient.child_env``) and
  never runs candidate code: a fork server copies nothing a test could not read anyway;
* exactly ONE connection is ever accepted, the agent's, made before the host sends the first
  batch; the listener is then closed, so no test can ever reach us (``/proc/1/fd`` is not
  readable: PID 1 is not dumpable). The agent checks that its peer is PID 1;
* a test runs as our uid, so it could lower our rlimits or change our scheduling state
  (prlimit, renice, affinity, I/O priority; our seccomp profile refuses all of them for
  another process, an engine's default profile does not), which every later fork server
  would inherit: before each fork we compare ours with those we had when the agent
  connected, and refuse from then on if anything changed (the agent then starts fork
  servers as before, with a new interpreter);
* nothing a test does can kill or stop PID 1, and it reaps the fork servers it made.
"""

from __future__ import annotations

import _socket
import marshal
import os
import sys
import time

_signal: Any = __import__("_signal")  # the C core of `signal` (the fork servers import no Python module for it)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

    from sandbox.runtime.wire import ZygoteFork, ZygoteReply

NAME = b"\0codesolve-zygote"
"""The abstract socket PID 1 listens on until the agent connects."""
SERVER_FD = 3
"""Where a zygote-born fork server finds its socket (its stderr is fd 2, as with ``Popen``)."""
_LOAD_MSG = 1 << 20
"""The most the fork server's code may take (54 KB today)."""
_MSG = 1 << 12
"""A fork request: small. (Every byte allocated here is in every fork server: a large buffer
would raise the C library's mmap threshold and leave the heap bigger.)"""
_ANCILLARY = _socket.CMSG_SPACE(4 * 4)
_PR_SET_DUMPABLE = 4
_FAILED = 70
"""A zygote-born fork server's exit status when it could not start."""


def reap() -> None:
    """Reap every child that has ended (orphans, and the fork servers we forked)."""
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass


def fork() -> int:
    """``os.fork``, reaping first, and again a few times while the container is at its pids limit:
    the processes of the batch just killed may still be zombies of ours (they count until reaped)."""
    for _ in range(40):
        reap()
        try:
            return os.fork()
        except BlockingIOError:
            time.sleep(0.005)
    return os.fork()


class Zygote:
    """PID 1's listener, then its one connection to the agent (see the module docstring)."""

    def __init__(self) -> None:
        self.listener: _socket.socket | None = _socket.socket(
            _socket.AF_UNIX, _socket.SOCK_SEQPACKET | _socket.SOCK_CLOEXEC
        )
        self.listener.bind(NAME)
        self.listener.listen(1)
        self.conn: _socket.socket | None = None
        self.server: dict[str, Any] = {}
        """The fork server's namespace, once the agent sent its code."""
        self.baseline: list[Any] = []
        """Our rlimits and scheduling state when the agent connected (see :meth:`tampered`)."""
        self.refused = ""
        """Why we fork no more (for good)."""

    def fds(self) -> list[int]:
        """What to wait on: the listener until the agent connected, then its connection."""
        return [sock.fileno() for sock in (self.listener, self.conn) if sock is not None]

    def on_ready(self, fd: int) -> None:
        """The listener or the connection is readable."""
        if self.listener is not None and fd == self.listener.fileno():
            self.accept(self.listener)
        elif self.conn is not None and fd == self.conn.fileno():
            self.serve_one(self.conn)

    def accept(self, listener: _socket.socket) -> None:
        """Take the agent's connection and never listen again."""
        # The C socket's own accept (`socket`, with its enums, is not imported here: see above).
        fd, _ = listener._accept()  # type: ignore[attr-defined]
        conn = _socket.socket(fileno=fd)
        listener.close()
        self.listener = None
        creds = conn.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
        if int.from_bytes(creds[4:8], sys.byteorder) != os.getuid():
            conn.close()  # (nothing but the agent runs yet: no one else can be first)
            return
        self.conn = conn

    def close(self) -> None:
        """The agent is gone (or we failed): we only reap from now on, and listen no more."""
        for sock in (self.listener, self.conn):
            if sock is not None:
                sock.close()
        self.listener = self.conn = None
        self.refused = self.refused or "the agent closed its connection"

    def serve_one(self, conn: _socket.socket) -> None:
        """Answer one request of the agent's."""
        try:
            msg, ancillary, _, _ = conn.recvmsg(_MSG if self.server else _LOAD_MSG, _ANCILLARY)
        except OSError:
            self.close()
            return
        fds: list[int] = []
        for level, kind, data in ancillary:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                fds += memoryview(data)[: len(data) - len(data) % 4].cast("i").tolist()
        if not msg:
            self.close()
            return
        pidfd = -1
        try:
            request = marshal.loads(msg)
            reply, pidfd = self.answer(request, fds)
        except Exception as exc:
            reply = {"ok": False, "why": f"{type(exc).__name__}: {exc}"[:300]}
        finally:
            for fd in fds:
                os.close(fd)
        try:
            passed = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, pidfd.to_bytes(4, sys.byteorder))] if pidfd >= 0 else []
            conn.sendmsg([marshal.dumps(dict(reply))], passed)
        except OSError:
            self.close()
        finally:
            if pidfd >= 0:
                os.close(pidfd)

    def answer(self, request: dict[str, Any], fds: list[int]) -> tuple[ZygoteReply, int]:
        """The reply to ``load`` or ``fork``, and the pidfd to pass with it (or -1)."""
        if request.get("op") == "load" and not self.server:
            self.load(request["code"])
            return {"ok": True}, -1
        if request.get("op") != "fork" or not self.server or len(fds) != 2:
            return {"ok": False, "why": f"unexpected request {str(request.get('op'))[:40]!r}"}, -1
        self.refused = self.refused or self.tampered()
        if self.refused:
            return {"ok": False, "why": self.refused}, -1
        order: ZygoteFork = request  # type: ignore[assignment]
        pid = fork()
        if pid == 0:
            self.become_fork_server(fds[0], fds[1], order)
        # Not reaped before this (the loop reaps after the request): the pid is still ours.
        return {"ok": True, "pid": pid}, os.pidfd_open(pid)

    def load(self, code: bytes) -> None:
        """Run the fork server's code (it only defines things) and warm up as each fork server
        would; then take the baseline our state is compared with before each fork."""
        server_code, harness = marshal.loads(code)
        namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": __builtins__}
        exec(server_code, namespace)
        namespace["prepare"](harness)
        self.server = namespace
        self.baseline = self.state()

    def state(self) -> list[Any]:
        """Every rlimit and the scheduling state of ours (what a forked child inherits)."""
        return [*self.server["all_rlimits"](), self.server["sched_state"]()]

    def tampered(self) -> str:
        """Why our state is no longer the baseline (a test changed it), or ""."""
        now = self.state()
        changed = [str(was) for was, new in zip(self.baseline, now) if was != new]
        return f"PID 1's limits or scheduling state changed: {', '.join(changed)[:200]}" if changed else ""

    def become_fork_server(self, sock: int, log: int, request: ZygoteFork) -> NoReturn:
        """In the child: keep only the fork server's descriptors, reset what PID 1 set that a
        process started afresh would not have, and run the fork server. Never returns."""
        status = _FAILED
        try:
            # First of all: the agent's connection and our signalfd are gone from this process.
            # (It stays in PID 1's session and process group, as a fork server the agent starts
            # stays in the agent's: each test child makes a session of its own. A fork server
            # that led a group of its own measured ~10% more CPU per test, 24-test batches.)
            os.dup2(log, 2)
            os.dup2(sock, SERVER_FD)
            os.closerange(SERVER_FD + 1, 1 << 16)
            _signal.pthread_sigmask(_signal.SIG_SETMASK, [])  # PID 1 blocks what it waits for
            if request["cwd"] != os.getcwd():  # (the same directory: a walk from / can cost a FUSE round trip)
                os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            # As a new process: main() writes its /proc files, then makes itself not dumpable.
            self.server["LIBC"].prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)
            status = self.server["start"](_socket.socket(fileno=SERVER_FD), list(request["argv"]))
            sys.stderr.flush()
        except BaseException as exc:
            os.write(2, f"sandbox: the zygote's child failed: {exc!r}\n"[:2000].encode())
        finally:
            os._exit(status)

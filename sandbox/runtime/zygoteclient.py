"""The agent's handle on the container's zygote (:mod:`sandbox.runtime.zygote`, in PID 1), and
on the fork servers it forks. Standard library only.

The agent connects once, at boot, before it says it is ready (so before any test can run:
PID 1 accepts one connection only), and sends the fork server's code. From then on
:func:`active` is the zygote every fork server is forked from, until anything goes wrong with
it: then :func:`give_up` says why on stderr, and the agent starts fork servers with a new
interpreter, as the local backend always does, for good.
"""

from __future__ import annotations

import errno
import marshal
import os
import select
import signal
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from sandbox.runtime.zygote import NAME

if TYPE_CHECKING:
    from sandbox.runtime.wire import ZygoteFork, ZygoteLoad, ZygoteReply

_PATIENCE_S = 10.0
"""How long PID 1 may take to listen, and to answer."""
_ACTIVE: list[Zygote] = []


class Zygote:
    """Our connection to PID 1's zygote."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    def connect(cls, patience: float = _PATIENCE_S) -> Zygote:
        """Connect to PID 1, which may still be starting; OSError or RuntimeError if we cannot.

        The caller must not go on without the zygote then (see :func:`start`): PID 1 listens
        until someone connects, and that must be us.
        """
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        deadline = time.monotonic() + patience
        try:
            while True:
                try:
                    sock.connect(NAME)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.ECONNREFUSED, errno.ENOENT) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.005)
            pid = int.from_bytes(sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)[:4], sys.byteorder)
            if pid != 1:
                raise RuntimeError(f"the zygote's socket belongs to pid {pid}, not PID 1")
        except BaseException:
            sock.close()
            raise
        return cls(sock)

    def load(self, code: bytes) -> None:
        """Give the zygote the fork server's code (``forkclient.SERVER_CODE``)."""
        load: ZygoteLoad = {"op": "load", "code": code}
        self.ask(dict(load), [])

    def ask(self, request: dict[str, object], fds: list[int]) -> tuple[ZygoteReply, int]:
        """One request and its reply, with the descriptor passed back (or -1); RuntimeError on
        a refusal, OSError when PID 1 is silent or gone."""
        socket.send_fds(self.sock, [marshal.dumps(request)], fds)
        self.sock.settimeout(_PATIENCE_S)
        msg, passed, _, _ = socket.recv_fds(self.sock, 65536, 1)
        if not msg:
            raise OSError(errno.EPIPE, "PID 1 closed the zygote's connection")
        reply: ZygoteReply = marshal.loads(msg)
        if not reply.get("ok"):
            for fd in passed:
                os.close(fd)
            raise RuntimeError(f"the zygote refused: {reply.get('why', '?')}")
        return reply, (passed[0] if passed else -1)

    def fork(self, sock: int, log: int, request: ZygoteFork) -> ForkedProcess:
        """A fork server, forked with ``sock`` (its end of the socket pair) and ``log`` (its stderr)."""
        reply, pidfd = self.ask(dict(request), [sock, log])
        if pidfd < 0:
            raise RuntimeError("the zygote sent no pidfd")
        return ForkedProcess(int(reply.get("pid", 0)), pidfd)

    def close(self) -> None:
        """Hang up (PID 1 then only reaps)."""
        self.sock.close()


class ForkedProcess:
    """A process PID 1 forked for us, watched through a pidfd (it is not our child: PID 1 reaps
    it, so its exit status is not ours to know). What :class:`~sandbox.runtime.forkclient.ForkServer`
    uses of ``subprocess.Popen``."""

    def __init__(self, pid: int, pidfd: int) -> None:
        self.pid = pid
        self.pidfd = pidfd
        self.returncode: int | None = None
        """-1 once it is gone (its status stays PID 1's)."""

    def poll(self) -> int | None:
        """None while it runs."""
        if self.returncode is None and select.select([self.pidfd], [], [], 0)[0]:
            self.gone()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait until it is gone; ``subprocess.TimeoutExpired`` past ``timeout``."""
        if self.returncode is None:
            if not select.select([self.pidfd], [], [], timeout)[0]:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout or 0.0)
            self.gone()
        return -1

    def kill(self) -> None:
        """SIGKILL, through the pidfd (never another process that got the pid since)."""
        if self.returncode is None:
            try:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def gone(self) -> None:
        self.returncode = -1
        os.close(self.pidfd)


def start(code: bytes) -> None:
    """At the agent's boot: connect to the zygote and give it ``code``. If PID 1 could not be
    reached at all, raise: a listener that appeared later would be a test's to take. Once
    connected (PID 1 listens no more), any failure only means doing without it."""
    zygote = Zygote.connect()
    try:
        zygote.load(code)
    except (OSError, RuntimeError) as exc:  # socket.timeout among them (an OSError on 3.9)
        zygote.close()
        give_up(f"the zygote could not load the fork server: {exc!r}")
        return
    _ACTIVE[:] = [zygote]


def active() -> Zygote | None:
    """The zygote, while it serves."""
    return _ACTIVE[0] if _ACTIVE else None


def give_up(why: str) -> None:
    """No more fork servers from the zygote (for good): say why on stderr."""
    for zygote in _ACTIVE:
        zygote.close()
    _ACTIVE.clear()
    sys.stderr.write(f"sandbox agent: fork servers start afresh from now on: {why}\n"[:2000])
    sys.stderr.flush()

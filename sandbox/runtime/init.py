"""PID 1 of a sandbox container: reap zombies, fork the fork servers, exit at the TTL.
Standard library only.

Docker's own ``--init`` would run the payload as a child, and the driver's
end-of-batch ``kill(-1, SIGKILL)`` (which must take down every process a test
left behind) would kill that child and so stop the container. PID 1 is the one
process ``kill(-1)`` spares, so this loop *is* PID 1: nothing inside the
container can kill or stop it, it reaps whatever gets orphaned to it, and it exits
(ending the container) when the TTL runs out or on SIGTERM from outside.

Being the one process that outlives every batch, it is also the *zygote* the agent has each
batch's fork server forked from (:mod:`sandbox.runtime.zygote`, whose source runs ahead of
this one: ``containers.init_source``). It runs under ``-I``, as a fork server started afresh
does, so that candidates see the same ``sys.path``, ``sys.flags`` and builtins either way.
"""

from __future__ import annotations

import ctypes
import os
import select
import sys
import time

_signal: Any = __import__("_signal")  # the C core of `signal`: every module of ours is in every fork server
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
if __name__ != "__main__":  # as PID 1, the zygote's source runs first, in this same namespace
    from sandbox.runtime.zygote import Zygote, reap

PR_SET_DUMPABLE = 4
_SFD_NONBLOCK_CLOEXEC = 0o4000 | 0o2000000
_SIGINFO = 128
"""The size of a ``struct signalfd_siginfo``: ``ssi_signo`` at 0, ``ssi_pid`` at 12."""
_WATCHED = (_signal.SIGCHLD, _signal.SIGTERM, _signal.SIGINT)


def detach() -> None:
    """Close the way to the container log and to our memory.

    It runs as the sandbox uid: dumpable, a test could open /proc/1/fd/1 and
    write into the container log on the host, or ptrace us (or open the agent's
    connection to the zygote, at /proc/1/fd).
    """
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def signal_fd(signals: tuple[int, ...]) -> int:
    """A signalfd for ``signals`` (blocked already): we wait on it with the zygote's socket."""
    mask = (ctypes.c_ulong * 16)()  # glibc's sigset_t: 1024 bits
    for signo in signals:
        mask[(signo - 1) // 64] |= 1 << ((signo - 1) % 64)
    libc = ctypes.CDLL(None, use_errno=True)
    fd = int(libc.signalfd(-1, ctypes.byref(mask), _SFD_NONBLOCK_CLOEXEC))
    if fd < 0:
        raise OSError(ctypes.get_errno(), "signalfd")
    return fd


def stop_asked(fd: int) -> bool:
    """Read the signals pending on ``fd``: whether one asks us to stop.

    Only a stop from outside the container (sender pid 0 here: it is in an ancestor pid
    namespace) counts; a test sending SIGTERM is ignored.
    """
    try:
        data = os.read(fd, _SIGINFO * 16)
    except BlockingIOError:
        return False
    for at in range(0, len(data) - _SIGINFO + 1, _SIGINFO):
        signo = int.from_bytes(data[at : at + 4], sys.byteorder)
        sender = int.from_bytes(data[at + 12 : at + 16], sys.byteorder)
        if signo != _signal.SIGCHLD and sender == 0:
            return True
    return False


def serve(deadline: float, signals: int, zygote: Zygote) -> int:
    """Wait on our signals and the zygote's socket until the TTL or a stop from outside."""
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([signals, *zygote.fds()], [], [], min(left, 60.0))
        for fd in ready:
            if fd == signals:
                if stop_asked(signals):
                    return 0
                continue
            try:
                zygote.on_ready(fd)
            except Exception:  # nothing of the zygote's may end PID 1 (and the container)
                zygote.close()
        reap()
    return 0


def wait_only(deadline: float) -> int:
    """The loop without a zygote (no signalfd): signals only. The agent, connected but never
    answered, then starts its fork servers with a new interpreter."""
    while (left := deadline - time.monotonic()) > 0:
        info = _signal.sigtimedwait(_WATCHED, min(left, 5.0))
        if info is not None and info.si_signo != _signal.SIGCHLD and info.si_pid == 0:
            return 0
        reap()
    return 0


def main() -> int:
    """``init.py TTL_SECONDS``."""
    detach()
    # Listening at once, before the agent can start: it connects before any test can run.
    zygote = Zygote()
    deadline = time.monotonic() + float(sys.argv[1])
    _signal.pthread_sigmask(_signal.SIG_BLOCK, _WATCHED)
    try:
        signals = signal_fd(_WATCHED)
    except OSError:
        return wait_only(deadline)
    return serve(deadline, signals, zygote)


if __name__ == "__main__":
    sys.exit(main())

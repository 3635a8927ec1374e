"""PID 1 of a sandbox container: reap zombies, exit at the TTL. Standard library only.

Docker's own ``--init`` would run the payload as a child, and the driver's
end-of-batch ``kill(-1, SIGKILL)`` (which must take down every process a test
left behind) would kill that child and so stop the container. PID 1 is the one
process ``kill(-1)`` spares, so this loop *is* PID 1: nothing inside the
container can kill it, it reaps whatever gets orphaned to it, and it exits
(ending the container) when the TTL runs out or on SIGTERM.
"""

import os
import signal
import sys
import time

PR_SET_DUMPABLE = 4


def detach() -> None:
    """Close the way to the container log and to our memory.

    It runs as the sandbox uid: dumpable, a test could open /proc/1/fd/1 and
    write into the container log on the host, or ptrace us.
    """
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    import ctypes

    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def main() -> int:
    """``init.py TTL_SECONDS``."""
    detach()
    deadline = time.monotonic() + float(sys.argv[1])
    watched = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, watched)
    while (left := deadline - time.monotonic()) > 0:
        info = signal.sigtimedwait(watched, min(left, 5.0))
        # Only a stop from outside the container (si_pid 0 here: the sender is in
        # an ancestor pid namespace) ends us; a test sending SIGTERM is ignored.
        if info is not None and info.si_signo != signal.SIGCHLD and info.si_pid == 0:
            return 0
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

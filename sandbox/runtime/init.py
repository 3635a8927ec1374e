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


def main() -> int:
    """``init.py TTL_SECONDS``."""
    deadline = time.monotonic() + float(sys.argv[1])
    watched = {signal.SIGCHLD, signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, watched)
    while (left := deadline - time.monotonic()) > 0:
        info = signal.sigtimedwait(watched, min(left, 5.0))
        if info is not None and info.si_signo != signal.SIGCHLD:
            return 0
        try:
            while os.waitpid(-1, os.WNOHANG)[0] > 0:
                pass
        except ChildProcessError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())

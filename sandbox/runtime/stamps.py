"""Making sure a test's change to a file we snapshot shows in its change time. Standard
library only.

The guards (:class:`sandbox.runtime.guard.Snapshot`) tell an untouched program file from a
changed one by ``lstat`` alone: a write, a rename, a ``chmod`` or a ``utime`` sets the file's
change time (ctime) to *now*, and no unprivileged call can set it back. That holds only if
*now* differs from the ctime recorded. Before Linux 6.13, tmpfs and most file systems take
*now* from the kernel's coarse clock, which moves once a tick (1-10 ms). A restore (or the
build of a batch's program) and a test started right after it can then fall in one tick: a
test that rewrites the checker in place, same size, and puts its mode back, leaves every
field of the signature as it was, and the next checker run is the test's (a forged AC).
Since 6.13 (multigrain timestamps) a change right after a ``stat`` gets a fine-grained time,
and there is no such window.

So before the first test (or checker) after signatures were recorded, the driver waits
(:func:`stamps_pass`) until a change made from then on gets a later ctime than every one it
recorded: on a kernel with fine-grained times at once, on one with a coarse clock at most one
tick (and usually not at all: the clock is read late, after the fork server's set-up).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

STEP_S = 0.0005
"""How long to sleep between two looks at the clock (a tick is 1-10 ms)."""
STEPS = 4000
"""Looks at most (~2 s; a tick is never that long: past it, the guarantee cannot be given)."""
PROBE = ".stamp-probe"
"""The file changed to read the file system's clock (made and removed at once)."""


def later_stamps(
    stamp: Callable[[], int],
    change: Callable[[], None],
    newest_ns: int,
    sleep: Callable[[float], None] = time.sleep,
    steps: int = STEPS,
) -> bool:
    """Whether a probe's change time got past ``newest_ns`` within ``steps`` looks: ``stamp``
    reads it, ``change`` changes it. The first change follows a read at once (where the
    kernel has multigrain times, it then gets a fine-grained time); only a clock that has
    not moved yet is waited for."""
    if stamp() > newest_ns:
        return True
    for _ in range(steps):
        change()
        if stamp() > newest_ns:
            return True
        sleep(STEP_S)
    return False


def stamps_pass(directory: int, newest_ns: int) -> bool:
    """Wait until a change made from now on in ``directory``'s file system (an open descriptor
    on a directory of ours that no test process can reach now) gets a ctime later than
    ``newest_ns``; whether it did. A probe file is made there and removed."""
    try:
        os.unlink(PROBE, dir_fd=directory)
    except FileNotFoundError:
        pass
    probe = os.open(PROBE, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600, dir_fd=directory)
    try:
        return later_stamps(lambda: os.fstat(probe).st_ctime_ns, lambda: _touch(probe), newest_ns)
    finally:
        os.close(probe)
        os.unlink(PROBE, dir_fd=directory)


def _touch(fd: int) -> None:
    os.pwrite(fd, b".", 0)

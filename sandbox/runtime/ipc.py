"""System V IPC objects left by a test, removed. Standard library only.

A container has a private IPC namespace that lives as long as the container: shared
memory segments, message queues and semaphore sets would outlive the test (and the batch)
that made them, holding memory charged to the container and carrying data to later tests.
Every process in the container is the sandbox uid, the creator of every object, so the
driver can remove them all (``IPC_RMID``); POSIX message queues are files under
``/dev/mqueue``, which is one of the places the wipe empties. Used in containers only: on
the local backend each test has an IPC namespace of its own (see the fork server), and the
host's objects are not ours to remove.
"""

from __future__ import annotations

import ctypes
import os

from sandbox.runtime.nearby import proc

IPC_RMID = 0
KINDS = ("shm", "msg", "sem")
_LIBC = ctypes.CDLL(None, use_errno=True)


class IpcSweeper:
    """Removes every System V IPC object of our namespace, after every test."""

    def __init__(self) -> None:
        self.fds: dict[str, int] = {}
        # From /proc held open: a walk from / may cost more than the test (see runtime.nearby).
        at = proc()
        for kind in KINDS:
            try:
                # Opened once: /proc/sysvipc/* regenerates its text on each read from offset 0.
                path = f"sysvipc/{kind}" if at is not None else f"/proc/sysvipc/{kind}"
                self.fds[kind] = os.open(path, os.O_RDONLY | os.O_CLOEXEC, dir_fd=at)
            except OSError:
                continue

    def ids(self, kind: str) -> list[int]:
        """The ids of the live objects of one kind (the second column of its /proc table)."""
        fd = self.fds.get(kind)
        if fd is None:
            return []
        chunks: list[bytes] = []
        while chunk := os.pread(fd, 1 << 16, sum(map(len, chunks))):
            chunks.append(chunk)
        return [int(line.split()[1]) for line in b"".join(chunks).splitlines()[1:] if line.strip()]

    def sweep(self) -> int:
        """Remove every object; return how many there were. Costs three ``pread`` when there are none."""
        removed = 0
        for kind in KINDS:
            for ident in self.ids(kind):
                remove(kind, ident)
                removed += 1
        return removed

    def left(self) -> list[str]:
        """The objects still there (after a sweep there must be none)."""
        return [f"{kind} {ident}" for kind in KINDS for ident in self.ids(kind)]

    def close(self) -> None:
        """Close the tables."""
        for fd in self.fds.values():
            os.close(fd)
        self.fds = {}


def remove(kind: str, ident: int) -> None:
    """``IPC_RMID`` one object (a shared memory segment goes once no process has it attached:
    by then every process of the test is dead)."""
    if kind == "shm":
        _LIBC.shmctl(ident, IPC_RMID, None)
    elif kind == "msg":
        _LIBC.msgctl(ident, IPC_RMID, None)
    else:
        _LIBC.semctl(ident, 0, IPC_RMID)

"""The IPC sweeper on its own, in a private IPC namespace of a forked child (never the host's objects)."""

from __future__ import annotations

import ctypes
import os

import pytest

from sandbox.runtime.ipc import IpcSweeper

CLONE_NEWIPC = 0x08000000


def _in_private_ipc_namespace() -> int:
    """In a forked child: make objects of every kind, sweep, and return a failure code (0: all good)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWIPC) != 0:
        return 77
    create = 0o1000 | 0o600
    for key in (0, 0, 0x5EED, 0x7FFFFFFF):
        if min(libc.shmget(key, 1 << 20, create), libc.msgget(key, create), libc.semget(key, 2, create)) < 0:
            return 2
    sweeper = IpcSweeper()
    try:
        if len(sweeper.left()) != 12:
            return 3
        if sweeper.sweep() != 12 or sweeper.left() or sweeper.sweep() != 0:
            return 4
    finally:
        sweeper.close()
    return 0


def test_the_sweeper_removes_every_object_of_every_kind() -> None:
    """Segments, queues and semaphore sets (named keys and IPC_PRIVATE) are all found and removed."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = _in_private_ipc_namespace()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code == 77:
        pytest.skip("no private IPC namespace here (needs root or user namespaces)")
    assert code == 0, f"sweeper check failed at step {code}"

"""The end-of-batch check of what is still alive: a zombie waiting for PID 1 is dead; a process
whose main thread left while another of its threads runs is not."""

from __future__ import annotations

import ctypes
import os
import platform
import threading
import time
from collections.abc import Callable

import pytest

from sandbox.runtime.teardown import defunct

_SYS_EXIT = {"x86_64": 60, "aarch64": 93}.get(platform.machine())
"""``exit`` for the calling thread only (not ``exit_group``)."""


def _child(body: Callable[[], None]) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            body()
        finally:
            os._exit(0)
    return pid


def _settle(pid: int, state: bytes) -> None:
    """Wait (a little) until the child's state letter is ``state``."""
    for _ in range(200):
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
        if data[data.rfind(b")") + 2 : data.rfind(b")") + 3] == state:
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} never reached state {state!r}")


def _leave_main_thread() -> None:
    threading.Thread(target=lambda: time.sleep(5)).start()
    assert _SYS_EXIT is not None
    ctypes.CDLL(None).syscall(_SYS_EXIT, 0)


def test_a_zombie_with_no_thread_left_is_dead() -> None:
    pid = _child(lambda: None)
    try:
        _settle(pid, b"Z")
        assert defunct(f"/proc/{pid}")
        # (and from /proc held open, as the agent reads it)
        proc = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY)
        try:
            assert defunct(str(pid), proc)
        finally:
            os.close(proc)
    finally:
        os.waitpid(pid, 0)


def test_a_running_process_is_not_dead() -> None:
    pid = _child(lambda: time.sleep(5))
    try:
        assert not defunct(f"/proc/{pid}")
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


@pytest.mark.skipif(_SYS_EXIT is None, reason="no known number for the exit syscall here")
def test_a_leader_gone_while_its_threads_run_is_not_dead() -> None:
    pid = _child(_leave_main_thread)
    try:
        _settle(pid, b"Z")  # what `ps` shows for it: a zombie
        assert len(os.listdir(f"/proc/{pid}/task")) == 2
        assert not defunct(f"/proc/{pid}")
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)

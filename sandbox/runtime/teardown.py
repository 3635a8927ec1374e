"""The end of a batch inside our own container: every process of the sandbox user killed,
every writable place emptied, every IPC object removed, and a check that nothing is left.
Standard library only.

Anything found left raises: the agent then exits and the host drops the container, so no
later batch can meet what this one left.
"""

from __future__ import annotations

import os
import signal
import time

from sandbox.runtime.guard import Anchors, Keep, leftovers, wipe_except
from sandbox.runtime.ipc import IpcSweeper
from sandbox.runtime.nearby import proc
from sandbox.runtime.procs import kill_descendants

__all__ = ["defunct", "end_of_batch", "kill_all_but_us", "others_alive"]


def kill_all_but_us() -> None:
    """Inside our own container: kill every process of the sandbox user but us and PID 1
    (what kill(-1) spares), and reap them. No process escapes it by forking: the kernel
    sends it to all of them at once, and a fork that races it fails."""
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        pass  # nothing left to kill
    # We are a child subreaper, so whatever survived the race with kill(-1) is
    # one of our descendants; a long-lived agent must also reap the zombies.
    kill_descendants(os.getpid())


def end_of_batch(wipe: list[str]) -> None:
    """Inside our own container: take down every process of the sandbox user, then empty
    every writable place (``/dev/mqueue`` among them: POSIX message queues) and remove every
    System V IPC object."""
    kill_all_but_us()
    anchors = Anchors(wipe)
    try:
        wipe_except(wipe, Keep(set()), anchors)
        left = leftovers(wipe, anchors)
    finally:
        anchors.close()
    if left:
        raise RuntimeError(f"the wipe left {len(left)} entries, e.g. {left[0][:200]}")
    ipc = IpcSweeper()
    try:
        ipc.sweep()
        objects = ipc.left()
    finally:
        ipc.close()
    if objects:
        raise RuntimeError(f"IPC objects survived the batch: {objects[:5]}")
    alive = others_alive()
    if alive:
        raise RuntimeError(f"processes of the sandbox user survived the batch: {alive[:5]}")


def others_alive(attempts: int = 20) -> list[int]:
    """Processes of our uid other than us and PID 1 (some may take a moment to be reaped)."""
    me, uid = os.getpid(), os.getuid()
    # From /proc held open, not by walks from / (see runtime.nearby).
    at = proc()
    table: int | str = "/proc" if at is None else at
    alive: list[int] = []
    for _ in range(attempts):
        alive = []
        for name in os.listdir(table):
            if name.isdigit() and int(name) not in (1, me):
                place = name if at is not None else f"/proc/{name}"
                try:
                    if os.stat(place, dir_fd=at).st_uid == uid and not defunct(place, at):
                        alive.append(int(name))
                except OSError:
                    continue  # gone meanwhile
        if not alive:
            return []
        kill_descendants(me)
        time.sleep(0.005)
    return alive


def defunct(place: str, at: int | None = None) -> bool:
    """Whether the process at ``place`` (``/proc/PID``, or ``PID`` under the directory ``at``) is
    dead and only waits for its parent to collect its status (PID 1, for every process of a batch
    once the agent's own are reaped): a zombie with no thread left. Waiting for PID 1 to get the
    CPU cost a batch ~5 ms. A zombie *leader* whose other threads still run (it called ``exit``
    for its own thread only) is not dead, and counts: its thread count tells them apart."""
    fd = os.open(f"{place}/stat", os.O_RDONLY | os.O_CLOEXEC, dir_fd=at)
    try:
        data = os.read(fd, 1024)
    finally:
        os.close(fd)
    # After the command name's closing parenthesis: the state (field 3 of proc(5)'s stat) at index
    # 0, the number of threads (field 20) at index 17.
    fields = data[data.rfind(b")") + 2 :].split()
    return len(fields) > 17 and fields[0] == b"Z" and fields[17] == b"1"

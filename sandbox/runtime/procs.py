"""A test's processes: found, killed, reaped and measured as one tree. Standard library only.

The fork server runs this source ahead of its own (see ``forkclient.SERVER_SOURCE``), so it
imports only C modules and ``os``, like the fork server; the driver imports it as a module.

A test is its whole process tree, children it never waits for included. The fork server is a
child subreaper, so every process of a test ends up reaped either by an ancestor inside the
tree (its usage then rolls up into that ancestor's) or by the fork server itself: the
fork server reaps with ``wait4`` and adds each one's usage to the test's (:data:`REAPED`).
While a test with more than one process runs, :class:`TreeWatch` samples the live tree
(CPU from /proc stat, memory as the sum of proportional set sizes, so pages shared after a
fork are not counted twice) and reports when the total passes a limit; the container's
memory cgroup is the backstop between samples.
"""

from __future__ import annotations

import ctypes
import os
import time

_signal: Any = __import__("_signal")  # the C core of `signal` (the fork server imports no Python module for it)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sandbox.runtime.wire import LimitsWire

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024
_IOPRIO_GET = {"x86_64": 252, "aarch64": 31}.get(os.uname().machine)
LIBC = ctypes.CDLL(None, use_errno=True)
"""Loaded once: every test child inherits it (a fresh load per child costs page copies)."""

REAPED = [0.0, 0]
"""CPU seconds and the largest peak RSS (KiB) of the processes the fork server reaped for the
running test (reset by :class:`TreeWatch`)."""


def descendants(root: int) -> list[int]:
    """Every live process whose parent chain leads to ``root`` (excluding ``root``)."""
    parent: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        parent[int(name)] = int(fields[1])
    found: list[int] = []
    for pid in parent:
        cur, seen = pid, 0
        while cur in parent and seen < 4096:
            cur, seen = parent[cur], seen + 1
            if cur == root:
                found.append(pid)
                break
    return found


def kill_descendants(root: int, rounds: int = 200) -> int:
    """SIGKILL every descendant of ``root`` until none is left; return how many were killed.

    Repeats because a fork bomb keeps making new ones until its parents die.
    """
    killed = 0
    if root == os.getpid() and not _has_children():
        return 0  # the fast path: a subreaper with no children has no descendants at all
    for _ in range(rounds):
        _reap()
        pids = descendants(root)
        if not pids:
            return killed
        for pid in pids:
            try:
                os.kill(pid, _signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        time.sleep(0.001)
    return killed


_CHILDREN: list[int] = []
"""A descriptor on this process's /proc ``children`` list, once opened (see :func:`watch_children`)."""


def watch_children() -> None:
    """Open our /proc ``children`` list, to be re-read after every test.

    Re-reading it costs one ``pread``; the fallback, a ``waitid`` that raises
    when there are no children, costs an exception per test.
    """
    try:
        _CHILDREN.append(os.open(f"/proc/self/task/{os.getpid()}/children", os.O_RDONLY | os.O_CLOEXEC))
    except OSError:
        pass  # a kernel without CONFIG_PROC_CHILDREN


def _has_children() -> bool:
    if _CHILDREN:
        return bool(os.pread(_CHILDREN[0], 16, 0))
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return True


def _reap() -> None:
    """Reap every child that has ended, adding what each used (with what it reaped) to :data:`REAPED`."""
    while True:
        try:
            pid, _, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        REAPED[0] += usage.ru_utime + usage.ru_stime
        REAPED[1] = max(REAPED[1], usage.ru_maxrss)


def _children_of(pid: int) -> list[int]:
    kids: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as fh:
                kids += [int(k) for k in fh.read().split()]
        except OSError:
            continue
    return kids


def tree(root: int) -> list[int]:
    """The live processes under ``root`` (followed down /proc ``children`` lists, or found by a
    walk of /proc where the kernel has none)."""
    if not _CHILDREN:
        return descendants(root)
    found: list[int] = []
    todo = [root]
    while todo and len(found) < 65536:
        kids = _children_of(todo.pop())
        found += kids
        todo += kids
    return found


def _cpu_and_kb(pid: int) -> tuple[float, int]:
    """CPU seconds (its own and its reaped children's) and memory (KiB) of one live process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rpartition(b")")[2].split()
    except OSError:
        return 0.0, 0
    cpu = sum(int(f) for f in fields[11:15]) / _TICKS
    try:
        # Proportional: a page shared by n processes counts 1/n in each.
        with open(f"/proc/{pid}/smaps_rollup", "rb") as fh:
            for line in fh.read().splitlines():
                if line.startswith(b"Pss:"):
                    return cpu, int(line.split()[1])
    except OSError:
        pass  # not dumpable: its resident set, shared pages and all
    return cpu, int(fields[21]) * _PAGE_KB


class TreeWatch:
    """The usage of one test's whole tree, against its limits (see the module docstring)."""

    def __init__(self, limits: LimitsWire) -> None:
        REAPED[0], REAPED[1] = 0.0, 0
        self.cpu_limit = float(limits["cpu"])
        self.kb_limit = int(limits["memory_mb"]) * 1024
        self.peak_kb = 0
        """The largest total memory of the live tree seen in a sample."""

    def over(self, server: int) -> str:
        """Sample the tree under ``server`` (the fork server): "cpu" or "memory" when its total
        passed a limit, else "". A lone process is left to its own rlimits and peak RSS."""
        pids = tree(server)
        if len(pids) < 2:
            return ""
        cpu, kb = REAPED[0], 0
        for pid in pids:
            used, rss = _cpu_and_kb(pid)
            cpu, kb = cpu + used, kb + rss
        self.peak_kb = max(self.peak_kb, kb)
        return "memory" if kb > self.kb_limit else "cpu" if cpu > self.cpu_limit else ""

    def totals(self, cpu: float, maxrss_kb: int) -> tuple[float, int]:
        """The test's CPU seconds and memory (KiB), given those of its first process (as waited for)."""
        return cpu + REAPED[0], int(max(maxrss_kb, REAPED[1], self.peak_kb))


def sched_state() -> tuple[Any, ...]:
    """This process's scheduling state, which every process it starts inherits: nice value,
    policy, CPU affinity and I/O priority. A test (same uid) can change it from outside."""
    ioprio = LIBC.syscall(_IOPRIO_GET, 1, 0) if _IOPRIO_GET is not None else 0
    return os.getpriority(os.PRIO_PROCESS, 0), os.sched_getscheduler(0), os.sched_getaffinity(0), ioprio


def restore_sched(saved: tuple[Any, ...]) -> bool:
    """Set this process's scheduling state back to ``saved`` (from :func:`sched_state`) as far as
    it may; whether it now is. Without privileges a nice value cannot be lowered again, nor
    SCHED_IDLE left."""
    nice, policy, cpus, ioprio = saved
    steps = (
        lambda: os.sched_setaffinity(0, cpus),
        lambda: os.sched_setscheduler(0, policy, os.sched_param(0)),
        lambda: os.setpriority(os.PRIO_PROCESS, 0, nice),
        lambda: LIBC.syscall(_IOPRIO_GET - 1, 1, 0, ioprio) if _IOPRIO_GET is not None else 0,
    )
    for step in steps:
        try:
            step()
        except OSError:
            continue
    return sched_state() == saved

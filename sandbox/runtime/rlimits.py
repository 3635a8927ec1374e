"""The rlimits of a test, set in the fork server once per batch. Standard library only.

Part of the fork server's source (see ``forkclient.SERVER_SOURCE``), so it imports only C
modules; the driver and the agent import :func:`all_rlimits` to check their own limits.
"""

from __future__ import annotations

import os
import resource

_signal: Any = __import__("_signal")  # the C core of `signal`, which has no stubs of its own
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from sandbox.runtime.wire import RunLimits
if __name__ != "__main__":  # in the fork server, procs.py runs first, in this same namespace
    from sandbox.runtime.procs import sched_state

OWN_LIMITS: list[tuple[int, tuple[int, int]]] = []
"""The rlimits each test child sets itself (CPU time, process count: see :func:`limit_batch`)."""
_INHERITED: list[tuple[Any, ...]] = []
"""Every rlimit and the scheduling state of the fork server once it set up its batch (what
each test child inherits)."""
_PER_CHILD = (resource.RLIMIT_CPU, getattr(resource, "RLIMIT_NPROC", -1))
_RLIMITS = sorted({getattr(resource, name) for name in dir(resource) if name.startswith("RLIMIT_")})


CORE_OFF = (1, 1)
"""RLIMIT_CORE: no core dump of either kind. A core file needs at least a page; and where the
host pipes dumps to a crash handler (``kernel.core_pattern`` of apport or systemd-coredump), the
kernel skips it only at exactly 1: at 0 it still runs that handler, on the host, for every crash
(300 crashes of one test, 300 runs). A container starts with it, and our seccomp profile keeps a
test from lowering it (``sandbox._docker.seccomp``)."""


def plan_limits(limits: RunLimits, as_slack: int, nproc: int = 0) -> list[tuple[int, tuple[int, int]]]:
    """The rlimits of a test: (resource, (soft, hard)) in the order they are set."""
    cpu = max(1, int(limits["cpu"] + 0.999))
    fsize = max(int(limits["output"]) + 1, int(limits["fsize"]))
    plan = [
        (resource.RLIMIT_CPU, (cpu, cpu + 1)),
        (resource.RLIMIT_FSIZE, (fsize, fsize)),
        (resource.RLIMIT_CORE, CORE_OFF),
        (resource.RLIMIT_NOFILE, (256, 256)),
    ]
    if nproc:
        # Local, non-root only: RLIMIT_NPROC counts every process of the uid on the
        # machine; in containers the pids cgroup bounds tests instead.
        plan.append((resource.RLIMIT_NPROC, (nproc, nproc)))
    mem = int(limits["memory_mb"]) * 1024 * 1024
    if as_slack:
        # Local backend only: no cgroup there, so the address space is the backstop.
        plan.append((resource.RLIMIT_AS, (mem + as_slack, mem + as_slack)))
    stack = _stack_limit(mem, int(limits["stack_cap"]))
    if stack is not None:
        plan.append((resource.RLIMIT_STACK, stack))
    return plan


def _stack_limit(mem: int, cap: int) -> tuple[int, int] | None:
    # Deep recursion is legitimate up to most of the memory limit; a stack that
    # overflows must still fault (RE) before the peak memory passes the limit (MLE).
    want = mem * 3 // 4
    if cap:
        want = min(want, cap)  # local backend: thread stacks count against its address-space limit
    soft, hard = resource.getrlimit(resource.RLIMIT_STACK)
    want = want if hard == resource.RLIM_INFINITY else min(want, hard)
    return (want, hard) if want != soft else None


def apply_limits(plan: list[tuple[int, tuple[int, int]]]) -> None:
    for which, value in plan:
        if resource.getrlimit(which) == value:
            continue  # (in a container RLIMIT_CORE is CORE_OFF already, and may not be set at all)
        try:
            resource.setrlimit(which, value)
        except (ValueError, OSError):
            if which != resource.RLIMIT_STACK:
                raise  # a test without its limits must not run; the stack is only a convenience


def limit_batch(plan: list[tuple[int, tuple[int, int]]]) -> None:
    """Set what every test child inherits, here, once: the umask, SIGPIPE's default
    action, and the rlimits but two that each child sets itself: CPU time (it
    counts a process's own time) and the process count (our own forks count
    against it).

    A fork server serves one batch, so lowering its own hard limits costs
    nothing (see :func:`limits_intact` for a test that lowers them further).
    Python ignores SIGPIPE; an exec'd program would inherit that. Our own writes
    on the socket pass MSG_NOSIGNAL: a driver gone is an error, not a signal.
    """
    OWN_LIMITS[:] = [(which, value) for which, value in plan if which in _PER_CHILD]
    apply_limits([(which, value) for which, value in plan if which not in _PER_CHILD])
    # Every limit as it now is (the stack limit may have been refused), to compare with later.
    _INHERITED[:] = [*all_rlimits(), sched_state()]
    os.umask(0o077)
    _signal.signal(_signal.SIGPIPE, _signal.SIG_DFL)


def all_rlimits() -> list[tuple[int, tuple[int, int]]]:
    """Every rlimit of this process, the ones no batch plans included."""
    return [(which, resource.getrlimit(which)) for which in _RLIMITS]


def limits_intact() -> bool:
    """Whether our rlimits (all of them) and scheduling state are still those of the batch.

    A test runs as our uid, so it may lower them with prlimit(2), or renice us, make us
    SCHED_IDLE, narrow our CPUs; every later child would inherit that. (This is a test
    hurting its own program; a fork server that finds it says so in its report, and the
    driver gives the next test a new one.)
    """
    return [*all_rlimits(), sched_state()] == _INHERITED

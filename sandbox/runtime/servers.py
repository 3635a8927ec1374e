"""The driver's fork servers over one batch: the spare adopted, started on demand, replaced when
a test killed or disturbed one, and stopped with whatever they left. Standard library only."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox.runtime.forkclient import ForkServer
from sandbox.runtime.procs import kill_descendants, restore_sched, sched_state
from sandbox.runtime.teardown import kill_all_but_us

if TYPE_CHECKING:
    from sandbox.runtime.events import EventSink
    from sandbox.runtime.wire import RunParameters, RunReport, RunRequest, Spec


class ForkServers:
    """The batch's current fork server (one at a time), and the spare it may start from."""

    def __init__(
        self, spec: Spec, sink: EventSink, parameters: Callable[[], RunParameters], spare: ForkServer | None
    ) -> None:
        self.spec = spec
        self.sink = sink
        self.parameters = parameters
        """The run parameters of the batch (read when a fork server is set up)."""
        self.spare = spare
        """A fork server started ahead of the batch, set up when first needed."""
        self.current: ForkServer | None = None
        self.precompiled = False
        """The program passed its syntax check in an earlier batch: a fork server compiles it at setup."""
        self.container = bool(spec.get("container"))
        self.sched = sched_state()
        """Our scheduling state, set back before a new fork server starts (see :meth:`restart`)."""

    def ensure(self) -> ForkServer:
        """The fork server, started on demand (:meth:`check` has retired a dead one; one that
        dies after that is found by :meth:`run`)."""
        if self.current is None:
            self.restart()
        assert self.current is not None
        return self.current

    def restart(self) -> None:
        """Set up a fork server (the spare one, the first time), after killing the old one
        and everything it left.

        The driver is a child subreaper: orphans of a fork server a test killed
        come back to it, so they are found here and cannot act in later tests.
        """
        self.retire()
        restore_sched(self.sched)  # a test may have reniced us too: the new fork server inherits it
        warm = self.spec["language"]["runner"] == "fork"
        server = self.adopt_spare(warm)
        if server is None:
            server = ForkServer(Path(self.spec["work"]), bool(self.spec.get("isolate_net")), self.spec.get("path"))
            try:
                server.setup(self.spec, warm, self.parameters(), self.precompiled)
            except RuntimeError:
                server.close()
                raise
        self.current = server
        # Not flushed by itself: it travels with the next event (each flush is a trip through
        # the container runtime and the daemon).
        self.sink.emit({"event": "hello", "isolation": server.isolation, "origin": server.origin}, flush=False)

    def adopt_spare(self, warm: bool) -> ForkServer | None:
        """The spare fork server, set up for this batch (only once; None if there is none that works)."""
        spare, self.spare = self.spare, None
        if spare is None:
            return None
        if spare.proc.poll() is not None or self.spec.get("isolate_net"):
            spare.close()  # (a spare never isolates the network: it was started for containers)
            return None
        try:
            spare.setup(self.spec, warm, self.parameters(), self.precompiled)
        except RuntimeError:
            spare.close()
            return None
        return spare

    def retire(self) -> None:
        """Stop the fork server, and kill whatever it and its tests left behind."""
        server, self.current = self.current, None
        if server is None:
            return
        if self.container:
            kill_all_but_us()
        server.close()
        kill_descendants(os.getpid())

    def check(self) -> None:
        """Before a run: a fork server a test killed is retired first (what it left must die
        before the wipe, not after)."""
        if self.current is not None and self.current.proc.poll() is not None:
            self.retire()

    def after(self, report: RunReport | None) -> None:
        """After a run: replace the fork server when the run killed it, left processes behind
        (in our own container, :meth:`retire` kills every other process of the sandbox user:
        a process that keeps forking outruns any walk of /proc, ``kill(-1)`` does not; on the
        local backend the walk is all there is), or changed its limits."""
        if report is None or (report["leftovers"] and self.container) or report["stale"]:
            self.retire()

    def run(self, request: RunRequest, fds: list[int], wall: float) -> tuple[RunReport | None, str]:
        """Hand one run to the fork server; if it was already gone (a previous test killed it
        and we raced its exit), start a new one and try once more before blaming anyone."""
        for attempt in range(2):
            try:
                report, why = self.ensure().run(request, fds, wall)
            except RuntimeError as exc:
                return None, f"infrastructure: {exc}"
            if report is not None or why.startswith("fork server died") or attempt == 1:
                return report, why
            self.restart()
        return None, "unreachable"

    def close(self) -> None:
        """Stop both fork servers (the spare too, if the batch never adopted it)."""
        for server in (self.current, self.spare):
            if server is not None:
                server.close()

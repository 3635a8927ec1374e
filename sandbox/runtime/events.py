"""The driver's event stream: one JSON line per event, and when to flush it. Standard library only."""

from __future__ import annotations

import json
import time
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.runtime.wire import Event, Outcome, Spec

LAZY_FLUSH_S = 0.02
"""With ``lazy_events``, the longest a passing test's result waits to be sent."""


def write_event(out: IO[str], spec: Spec, event: Event, flush: bool = True) -> None:
    """One JSON line signed with the batch nonce.

    The nonce lives only in the (deleted) spec and this non-dumpable process,
    so even a line a program managed to inject into our output would be
    rejected by the host.
    """
    out.write(json.dumps({**event, "nonce": spec.get("nonce", "")}) + "\n")
    if flush:
        out.flush()


class EventSink:
    """Where a batch's events go, and the policy of when they reach the host."""

    def __init__(self, out: IO[str], spec: Spec) -> None:
        self.out = out
        self.spec = spec
        self.lazy = bool(spec.get("lazy_events"))
        self.flushed_at = time.monotonic()

    def emit(self, event: Event, flush: bool = True) -> None:
        """Write one JSON line (and flush, so the host sees progress as it happens)."""
        write_event(self.out, self.spec, event, flush)
        if flush:
            self.flushed_at = time.monotonic()

    def flush_due(self, outcome: Outcome, last: bool) -> bool:
        """Whether a test's result must reach the host now.

        Each flush is a trip through the container runtime and the Docker daemon,
        which costs more than a fast test. With ``lazy_events`` the results of
        fast, passing tests travel together, at most :data:`LAZY_FLUSH_S` late;
        the host re-runs the rest of a batch whose driver died with results in
        hand, eagerly, to blame the right test (see the Docker backend). The last
        result is never flushed by itself there: the agent writes ``done`` and its
        end mark right after it, and flushes all three at once (one trip, not two,
        for a one-test batch).
        """
        if self.lazy and last:
            return False
        if not self.lazy or outcome["verdict"] != "AC":
            return True
        return time.monotonic() - self.flushed_at >= LAZY_FLUSH_S

"""A switch that ends a solve early from outside, like a budget cap.

The CLI flips it on the first Ctrl-C: the engine stops at once (its work is
cancelled, not awaited), keeps everything computed so far and returns the best
candidate with the reason, so the trace is still saved.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import anyio


class StopSwitch:
    """Cancels the solves watching it; remembers why."""

    def __init__(self) -> None:
        """An unflipped switch."""
        self.reason: str | None = None
        self._scopes: list[anyio.CancelScope] = []

    @property
    def watched(self) -> bool:
        """True while some solve is watching the switch."""
        return bool(self._scopes)

    def stop(self, reason: str) -> None:
        """Flip the switch: every watching solve is cancelled and reports ``reason``."""
        self.reason = self.reason or reason
        for scope in self._scopes:
            scope.cancel()

    @contextmanager
    def watch(self) -> Iterator[anyio.CancelScope]:
        """A cancel scope the switch cancels (at once if it was already flipped)."""
        with anyio.CancelScope() as scope:
            if self.reason is not None:
                scope.cancel()
            self._scopes.append(scope)
            try:
                yield scope
            finally:
                self._scopes.remove(scope)

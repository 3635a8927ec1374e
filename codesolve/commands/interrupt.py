"""Ctrl-C for every command: the first stops promptly, the second exits at once.

The first SIGINT cancels the innermost thing the command registered: a running
solve (through its :class:`StopSwitch`, so the partial result and trace are
still written) or else the whole command; cleanup then runs shielded and the
command exits 130 with ``codesolve: interrupted``. A second SIGINT during that
cleanup does not wait for it: it removes this process's sandbox containers
directly, prints the same line and exits 130 (no traceback, no exception
group).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TypeVar

import anyio

from codesolve.errors import CodesolveError
from codesolve.runs.heap import freeze_startup_heap
from codesolve.sstar.stop import StopSwitch
from sandbox.admin import remove_own_containers

INTERRUPTED = "codesolve: interrupted"
"""The line a Ctrl-C ends with (exit code 130)."""

_T = TypeVar("_T")
_REAP_WAIT_S = 20.0


class Interrupted(CodesolveError):
    """The user pressed Ctrl-C; the CLI prints :data:`INTERRUPTED` and exits 130."""


class Interrupts:
    """SIGINT policy of one command run. Install with :meth:`installed` in the main thread."""

    def __init__(self) -> None:
        """Nothing pressed yet."""
        self.count = 0
        self.switch = StopSwitch()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._root: anyio.CancelScope | None = None
        self._graceful: tuple[anyio.Event, Callable[[str], None]] | None = None

    @property
    def pressed(self) -> bool:
        """True once Ctrl-C was pressed."""
        return self.count > 0

    def _on_sigint(self, _signum: int, _frame: FrameType | None) -> None:
        # A Python-level handler runs between bytecodes even when the event loop is busy.
        self.count += 1
        if self.count >= 2:
            emergency_exit()
        if self._loop is None:
            raise KeyboardInterrupt  # not inside the event loop: the plain path
        self._loop.call_soon_threadsafe(self._stop_first)

    def graceful(self, note: Callable[[str], None]) -> anyio.Event:
        """Make the first Ctrl-C graceful (long runs): it calls ``note`` with a line for the user
        and sets the returned event, for the run to drop its work in flight and leave its store
        consistent; nothing is cancelled. Call inside :meth:`run`."""
        event = anyio.Event()
        self._graceful = (event, note)
        return event

    def _stop_first(self) -> None:
        if self._graceful is not None:
            event, note = self._graceful
            note("interrupted: finishing cleanly (work in flight dropped); Ctrl-C again to exit at once")
            event.set()
        elif self.switch.watched:
            self.switch.stop("interrupted (Ctrl-C)")
        elif self._root is not None:
            self._root.cancel()

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Handle SIGINT for the duration (a no-op outside the main thread, e.g. in tests)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = signal.signal(signal.SIGINT, self._on_sigint)
        try:
            yield
        finally:
            # Once pressed, ours stays: a second press while the command winds down (printing,
            # exiting) is still the emergency exit, never a KeyboardInterrupt past main().
            if not self.pressed:
                signal.signal(signal.SIGINT, previous)

    def run(self, func: Callable[[], Awaitable[_T]]) -> _T:
        """``anyio.run(func)`` whose first Ctrl-C cancels it; Interrupted when it was cancelled so."""

        async def main() -> _T:
            self._loop = asyncio.get_running_loop()
            try:
                with anyio.CancelScope() as self._root:
                    return await func()
                raise Interrupted("interrupted")
            finally:
                self._loop = None

        freeze_startup_heap()
        with self.installed():
            try:
                result = anyio.run(main)
            except Exception as exc:
                if self.pressed:  # a failure caused by the cancellation: the user asked to stop
                    raise Interrupted("interrupted") from None
                if isinstance(exc, ExceptionGroup):  # a task group's wrapper: its cause, in one line
                    raise first_error(exc) from None
                raise
        if self.pressed:
            raise Interrupted("interrupted")
        return result


def emergency_exit() -> None:
    """Second Ctrl-C: remove this process's containers without waiting for anything, exit 130."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a third press must not cut the removal short
    try:
        sys.stderr.write(INTERRUPTED + "\n")
        sys.stderr.flush()
    except Exception:
        pass  # e.g. a reentrant write: the handler interrupted a print; the exit code still says it
    # In a thread of its own: this handler may have interrupted code holding a lock the removal
    # needs; the join is bounded, so the exit happens regardless.
    remover = threading.Thread(target=remove_own_containers, name="codesolve-emergency-reap", daemon=True)
    remover.start()
    remover.join(_REAP_WAIT_S)
    os._exit(130)


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first leaf of an exception group (a task group wraps a deliberate error)."""
    leaf: BaseException = group
    while isinstance(leaf, BaseExceptionGroup) and leaf.exceptions:
        leaf = leaf.exceptions[0]
    return leaf

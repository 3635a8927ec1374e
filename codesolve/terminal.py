"""Terminal safety: the one function every printed string goes through.

Program output, checker messages, feedback, diffs and an endpoint's error text
are all hostile: a program can print ESC sequences that clear the screen, set
the window title (OSC) or forge a "2/2 passed (AC)" line over the real
summary. :func:`printable` removes what a terminal would interpret, and
:func:`safe_terminal` installs it at the printing boundary: every command
writes through ``sys.stdout``/``sys.stderr``, which it wraps, so no printing
path (present or future) can reach the terminal raw.
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO, cast

# C0 controls except tab and newline, DEL, C1 controls (0x80-0x9f: CSI, OSC, ST
# are single code points there), and the bidi embedding/override/isolate marks
# that reorder what is shown ("Trojan source"). One character class: linear.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Lone surrogates cannot be encoded for output: shown as U+FFFD instead of crashing the print.
_SURROGATE = re.compile("[\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` with terminal control characters removed (tab and newline kept)."""
    return _SURROGATE.sub("\ufffd", _CONTROL.sub("", text))


class SafeStream(io.TextIOBase):
    """A text stream that passes every write through :func:`printable`."""

    def __init__(self, inner: TextIO) -> None:
        """Wrap ``inner`` (usually ``sys.stdout`` or ``sys.stderr``)."""
        super().__init__()
        self.inner = inner

    def write(self, text: str) -> int:
        """Write the printable form of ``text``; returns ``len(text)`` as callers expect."""
        self.inner.write(printable(text))
        return len(text)

    def flush(self) -> None:
        """Flush the wrapped stream."""
        self.inner.flush()

    def isatty(self) -> bool:
        """Whether the wrapped stream is a terminal."""
        return self.inner.isatty()

    def fileno(self) -> int:
        """The wrapped stream's descriptor."""
        return self.inner.fileno()

    def writable(self) -> bool:
        """Always writable."""
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        """The wrapped stream's encoding."""
        return str(getattr(self.inner, "encoding", "utf-8"))


@contextmanager
def safe_terminal() -> Iterator[None]:
    """Route ``sys.stdout`` and ``sys.stderr`` through :class:`SafeStream` for the duration."""
    saved = sys.stdout, sys.stderr
    sys.stdout = cast(TextIO, SafeStream(saved[0]))
    sys.stderr = cast(TextIO, SafeStream(saved[1]))
    try:
        yield
    finally:
        for wrapper in (sys.stdout, sys.stderr):
            try:
                wrapper.flush()
            except (OSError, ValueError):
                pass  # a closed pipe at exit is not worth a traceback
        sys.stdout, sys.stderr = saved

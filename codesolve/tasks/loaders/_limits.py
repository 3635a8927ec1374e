"""Bounds on what an untrusted problem file may cost: decoded bytes, and the size of error messages.

Every byte a loader inflates (a ``.gz`` file, LiveCodeBench's zlib'd test
fields) is charged to one :class:`DecodeBudget` per load, sized from the
bytes on disk: a small file cannot expand into gigabytes, however it nests
its compression. Error messages quote values only through :func:`excerpt`
and :func:`one_line`, which look at a bounded prefix, never a full
``repr()`` (a YAML alias bomb's repr is gigabytes).
"""

from __future__ import annotations

import reprlib
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

MAX_BYTES = 1 << 30
"""Largest problem file (or package) read, and the most any load may decode."""
INFLATE_RATIO = 16
"""A load may decode at most this many times its bytes on disk (real datasets: at most 8.4)."""
MIN_INFLATE = 8 << 20
"""…and never less than this, so small compressed files stay readable."""
_CHUNK = 1 << 20


class InflateError(ValueError):
    """Compressed data that is corrupt or truncated (``corrupt``), or expands past the load's budget."""

    def __init__(self, message: str, corrupt: bool = False) -> None:
        super().__init__(message)
        self.corrupt = corrupt


@dataclass
class DecodeBudget:
    """Bytes a load may still inflate."""

    limit: int
    used: int = 0

    @classmethod
    def for_size(cls, on_disk: int) -> DecodeBudget:
        """The budget for a file (or package) of ``on_disk`` bytes."""
        return cls(min(MAX_BYTES, max(MIN_INFLATE, INFLATE_RATIO * on_disk)))

    def charge(self, size: int) -> None:
        """Count ``size`` more decoded bytes; :class:`InflateError` past the limit."""
        self.used += size
        if self.used > self.limit:
            raise InflateError(
                f"decompresses to more than {self.limit} bytes ({INFLATE_RATIO}x the file, at least {MIN_INFLATE});"
                " decompress it first if it is genuine"
            )


_BUDGET: ContextVar[DecodeBudget | None] = ContextVar("codesolve_decode_budget", default=None)


@contextmanager
def decode_budget(on_disk: int) -> Iterator[DecodeBudget]:
    """Make a budget for ``on_disk`` bytes current for everything loaded inside."""
    budget = DecodeBudget.for_size(on_disk)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def current_budget(on_disk: int) -> DecodeBudget:
    """The current load's budget, or outside any load a fresh one for ``on_disk`` bytes."""
    budget = _BUDGET.get()
    return DecodeBudget.for_size(on_disk) if budget is None else budget


def inflate(data: bytes, wbits: int = zlib.MAX_WBITS) -> bytes:
    """Decompress zlib (or, with ``wbits=47``, gzip, also multi-member) data, charging the budget as it streams."""
    budget = current_budget(len(data))
    chunks: list[bytes] = []
    inflater = zlib.decompressobj(wbits)
    pending = data
    try:
        while True:
            chunk = inflater.decompress(pending, _CHUNK)
            budget.charge(len(chunk))
            chunks.append(chunk)
            pending = inflater.unconsumed_tail
            if inflater.eof:
                rest = inflater.unused_data
                if wbits > zlib.MAX_WBITS and rest.strip(b"\0"):  # another gzip member follows
                    inflater, pending = zlib.decompressobj(wbits), rest
                    continue
                break
            if not pending and not chunk:
                raise InflateError("truncated", corrupt=True)
    except zlib.error as exc:
        raise InflateError(str(exc), corrupt=True) from None
    return b"".join(chunks)


_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = 60
_REPR.maxother = 60
_REPR.maxlong = 40
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = _REPR.maxfrozenset = 4


def excerpt(value: Any) -> str:
    """A short repr of an untrusted value, built in bounded time and memory."""
    try:
        return _REPR.repr(value)
    except (ValueError, RecursionError):  # an int too long to print, a pathological nesting
        return f"<{type(value).__name__}>"


def one_line(text: str, limit: int = 200) -> str:
    """Collapse whitespace so an error message stays on one line, and cap its length.

    Only a bounded prefix is looked at, so a huge text costs nothing.
    """
    head = str(text)[: limit * 4 + 1]
    flat = " ".join(head.split())
    return flat if len(flat) <= limit and len(head) <= limit * 4 else flat[:limit] + "…"


def exception_text(exc: BaseException) -> str:
    """``Type: message`` of an exception, with its arguments excerpted rather than fully repr'd."""
    args = exc.args
    if len(args) == 1 and isinstance(args[0], str) and not isinstance(exc, KeyError):
        message = one_line(args[0])
    else:
        message = ", ".join(excerpt(a) for a in args[:3])
    return f"{type(exc).__name__}: {message}"

"""Retry policy: which failures are worth another attempt, and how long to wait.

The openai client runs with ``max_retries=0``; every decision is made here.
Transient faults (timeouts, connection errors, 429, 408/409, 5xx, malformed
bodies) are retried with capped exponential backoff and jitter, or after the
server's ``Retry-After`` (capped). Refusals (400, 401, 403, 404, 422, context
length) fail at once: repeating them cannot help.
"""

from __future__ import annotations

import errno
import math
import os
import random
import re
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal

import openai

from codesolve.errors import LLMRequestError
from codesolve.llm._config import EndpointConfig
from codesolve.llm._transport import CompressedReply, RedirectRefused, ReplyTooLarge
from codesolve.terminal import printable

FaultKind = Literal[
    "timeout",
    "connection",
    "refused",
    "rate_limit",
    "server",
    "malformed",
    "auth",
    "not_found",
    "context_length",
    "bad_request",
    "too_large",
    "redirect",
]
"""What went wrong with one attempt."""

_RETRYABLE: frozenset[FaultKind] = frozenset({"timeout", "connection", "refused", "rate_limit", "server", "malformed"})
_CONTEXT_RE = re.compile(r"context[ _-]?(length|window)|maximum context|too many tokens|prompt is too long", re.I)


class MalformedResponse(Exception):
    """The server answered 200 with a body that is not a usable chat completion."""


class RequestRejected(LLMRequestError):
    """An :class:`LLMRequestError` that remembers why, so the client can react (e.g. drop ``n``)."""

    def __init__(self, message: str, kind: FaultKind) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class Fault:
    """One failed attempt, classified."""

    kind: FaultKind
    detail: str
    """One line saying what happened."""
    retry_after_s: float | None = None

    @property
    def retryable(self) -> bool:
        """True when another attempt may succeed."""
        return self.kind in _RETRYABLE


def one_line(text: str, limit: int = 240) -> str:
    """``text`` with whitespace collapsed and control characters removed, cut to ``limit`` characters.

    Server text (error messages, bodies) is hostile: it goes into messages that
    are printed, so it is made printable here as well as at the terminal.
    """
    flat = " ".join(printable(text[: limit * 4]).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def classify(exc: Exception, endpoint: EndpointConfig) -> Fault | None:
    """The fault ``exc`` represents, or None when it is not a model-call failure (a bug: re-raise)."""
    unsafe = _unsafe_reply(exc)
    if unsafe is not None:
        return unsafe
    if isinstance(exc, TimeoutError | openai.APITimeoutError):
        return Fault("timeout", f"no answer within {endpoint.timeout_s:g}s")
    if isinstance(exc, openai.APIConnectionError):
        kind: FaultKind = "refused" if _nothing_listens(exc) else "connection"
        return Fault(kind, one_line(f"connection failed: {_root_cause(exc)}"))
    if isinstance(exc, MalformedResponse | openai.APIResponseValidationError):
        return Fault("malformed", one_line(f"malformed response: {exc}"))
    if isinstance(exc, openai.APIStatusError):
        return _classify_status(exc, endpoint)
    return None


def _unsafe_reply(exc: BaseException) -> Fault | None:
    # The guarded transport's refusals, raised bare or wrapped by the SDK as a connection error.
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:
        if isinstance(current, ReplyTooLarge):
            return Fault("too_large", one_line(str(current)))
        if isinstance(current, RedirectRefused):
            return Fault("redirect", one_line(str(current)))
        if isinstance(current, CompressedReply):
            return Fault("malformed", one_line(f"malformed response: {current}"))
        current, seen = current.__cause__ or current.__context__, seen + 1
    return None


def _classify_status(exc: openai.APIStatusError, endpoint: EndpointConfig) -> Fault:
    status, message = exc.status_code, _server_message(exc)
    said = f"HTTP {status}: {message}"
    if status == 429:
        return Fault("rate_limit", said, retry_after(exc.response.headers))
    if status in (408, 409) or status >= 500:
        return Fault("server", said, retry_after(exc.response.headers))
    if status in (401, 403):
        return Fault("auth", f"{said} (check {endpoint.api_key_env})")
    if status == 404:
        return Fault("not_found", f"model {endpoint.model!r} not found ({said})")
    if exc.code == "context_length_exceeded" or _CONTEXT_RE.search(message):
        return Fault("context_length", f"prompt exceeds the context window of {endpoint.model} ({said})")
    return Fault("bad_request", said)


_SSL_SOURCE = re.compile(r"(?<!\s)\s*\(_ssl\.c:\d+\)")
"""The TLS library's source line in its messages, with the blanks before it (a match starts only
where a run of blanks does: from every blank of a long run, each try was the run's length)."""


def _root_cause(exc: BaseException) -> str:
    # httpx wraps the socket error two or three times; the innermost OSError says it best.
    best: str = str(exc.__cause__ or exc)
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            # Its errno is the TLS library's code, which os.strerror misreads (1: "Operation not
            # permitted" for a certificate that failed verification); its own text names it.
            best = _SSL_SOURCE.sub("", str(current)).strip()
        elif isinstance(current, OSError):
            # asyncio puts its own text in strerror ("Connect call failed"); the errno says "Connection refused".
            code = current.errno if isinstance(current.errno, int) and current.errno > 0 else None
            best = os.strerror(code) if code else current.strerror or str(current) or best
        current = current.__cause__ or current.__context__
    return best


def _nothing_listens(exc: BaseException) -> bool:
    # Connection refused, or a host name that does not resolve: no server is there (yet); or a
    # certificate we do not trust: no server we may talk to (before any answer, a first call
    # fails at once on it, not after the retry ladder).
    # A reset or a timeout mid-exchange is a server that exists and failed, a different matter.
    current: BaseException | None = exc
    for _ in range(8):
        if current is None:
            return False
        if isinstance(current, ConnectionRefusedError | socket.gaierror | ssl.SSLCertVerificationError):
            return True
        if isinstance(current, OSError) and current.errno == errno.ECONNREFUSED:
            return True
        current = current.__cause__ or current.__context__
    return False


def _server_message(exc: openai.APIStatusError) -> str:
    # openai hands us the "error" object of the body when there is one.
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return one_line(body["message"])
    if isinstance(body, str) and body.strip():
        return one_line(body)
    return one_line(exc.message)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` or ``retry-after``), or None."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        seconds = _to_float(raw_ms)
        if seconds is not None:
            return seconds / 1000
    raw = headers.get("retry-after")
    if raw is None:
        return None
    seconds = _to_float(raw)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _to_float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def retry_delay(fault: Fault, endpoint: EndpointConfig, retry_index: int, rng: random.Random) -> float:
    """How long to sleep before retry number ``retry_index`` (0-based)."""
    if fault.retry_after_s is not None:
        return min(fault.retry_after_s, endpoint.max_retry_after_s)
    ceiling = min(endpoint.max_backoff_s, endpoint.backoff_s * 2.0**retry_index)
    # Equal jitter: never less than half the backoff, so retries stay spaced, but spread out.
    return ceiling / 2 + rng.uniform(0, ceiling / 2)

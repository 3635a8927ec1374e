"""The HTTP layer under the openai client: a capped body, one origin, no compression.

An endpoint is a third party, so its reply is read the way the sandbox reads a
program's output: the body is counted as it streams off the socket and the
read stops at a cap derived from ``max_tokens`` (:func:`reply_cap`); a larger
reply is :class:`ReplyTooLarge` long before it is in memory. Requests may only
go to the configured origin, so a redirect elsewhere is :class:`RedirectRefused`
before any byte of the prompt is sent. Replies must not be compressed (we ask
for ``identity``): a decompressed size could not be capped as it streams.
"""

from __future__ import annotations

import functools
import os
import ssl
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import httpx2

BYTES_PER_TOKEN = 32
"""Generous bytes of JSON body per completion token (escaped non-ASCII is 6-12 bytes a token)."""
ENVELOPE_BYTES = 64 * 1024
"""Room for the response's JSON envelope (ids, usage, headers of error bodies)."""
DEFAULT_MAX_TOKENS = 32_768
"""The completion length assumed when a call sets no ``max_tokens``."""

_CAP: ContextVar[int] = ContextVar("codesolve_reply_cap", default=ENVELOPE_BYTES)


def reply_cap(choices: int, max_tokens: int | None) -> int:
    """The most bytes a reply with ``choices`` completions of ``max_tokens`` may take."""
    per_choice = (max_tokens or DEFAULT_MAX_TOKENS) * BYTES_PER_TOKEN + 1024
    return ENVELOPE_BYTES + max(1, choices) * per_choice


@contextmanager
def capped(limit: int) -> Iterator[None]:
    """Cap the bodies of the requests made in this context (a context variable: per task)."""
    token = _CAP.set(limit)
    try:
        yield
    finally:
        _CAP.reset(token)


class UnsafeReply(Exception):
    """A reply the transport refused to read (base of the three below)."""


class ReplyTooLarge(UnsafeReply):
    """The body went past the cap."""


class RedirectRefused(UnsafeReply):
    """A redirect pointed at another origin (scheme, host, port)."""


class CompressedReply(UnsafeReply):
    """The body came compressed although ``identity`` was asked for."""


def _origin(url: httpx2.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


class _CappedStream(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in self._inner:
            seen += len(chunk)
            if seen > self._limit:
                raise ReplyTooLarge(f"reply body larger than {self._limit} bytes (the cap for this call)")
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class GuardedTransport(httpx2.AsyncBaseTransport):
    """Sends only to ``base_url``'s origin and caps every response body as it streams."""

    def __init__(self, base_url: str, inner: httpx2.AsyncBaseTransport | None = None) -> None:
        """Guard requests to ``base_url`` (proxies from the environment are honoured by the inner transport)."""
        self._origin = _origin(httpx2.URL(base_url))
        self._inner = inner or httpx2.AsyncHTTPTransport(verify=tls_context(base_url), proxy=_env_proxy(base_url))

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        """Refuse another origin; send; refuse compression and an oversized body."""
        if _origin(request.url) != self._origin:
            shown = f"{request.url.scheme}://{request.url.host}"
            raise RedirectRefused(f"redirected to another origin ({shown}); redirects off the endpoint are refused")
        request.headers["Accept-Encoding"] = "identity"
        limit = _CAP.get()
        response = await self._inner.handle_async_request(request)
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        declared = response.headers.get("content-length", "")
        problem: UnsafeReply | None = None
        if encoding not in ("", "identity"):
            problem = CompressedReply(f"reply compressed ({encoding[:20]}) although identity was asked for")
        elif declared.isdigit() and int(declared) > limit:
            problem = ReplyTooLarge(f"reply body of {declared} bytes is larger than the {limit}-byte cap")
        if problem is not None:
            await response.aclose()
            raise problem
        assert isinstance(response.stream, httpx2.AsyncByteStream)
        return httpx2.Response(
            response.status_code,
            headers=response.headers,
            stream=_CappedStream(response.stream, limit),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        """Close the inner transport's connections."""
        await self._inner.aclose()


def tls_context(base_url: str) -> ssl.SSLContext:
    """The TLS settings for connections to ``base_url``'s origin.

    Reading the system's trust store took ~40 ms, and every client used to read it again. An
    ``https`` origin now shares one reading per process (read again only if ``SSL_CERT_FILE`` or
    ``SSL_CERT_DIR`` change). A plain ``http`` origin never makes a TLS connection (requests
    stay on its origin, scheme included; a proxy's own TLS has its own settings), so it gets a
    context that still verifies but trusts no certificate at all: it would fail closed.
    """
    if httpx2.URL(base_url).scheme == "http":
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return _trust_store(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _trust_store(cafile: str | None, capath: str | None) -> ssl.SSLContext:
    # The arguments are the cache key only: httpx reads the same variables itself. Shared by
    # every client: the connection pool sets ALPN on it per connection, the same for all while
    # every client speaks HTTP/1.1 only (a client with http2 would need a context of its own).
    del cafile, capath
    return httpx2.create_ssl_context(verify=True, trust_env=True)


def _env_proxy(base_url: str) -> str | None:
    # The client runs with trust_env off (so no proxy mount bypasses the guard); honour the proxy here.
    url = httpx2.URL(base_url)
    if url.host and urllib.request.proxy_bypass(url.host):
        return None
    return urllib.request.getproxies().get(url.scheme)


def guarded_client(base_url: str, timeout_s: float) -> httpx2.AsyncClient:
    """The httpx client the openai client runs on: same-origin redirects only, capped bodies."""
    return httpx2.AsyncClient(
        transport=GuardedTransport(base_url),
        trust_env=False,
        follow_redirects=True,
        max_redirects=3,
        timeout=httpx2.Timeout(timeout_s, connect=min(timeout_s, 10.0)),
        limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=100),
    )

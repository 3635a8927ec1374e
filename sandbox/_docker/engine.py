"""Docker API calls with deadlines, bounded retries, and their own thread limiter.

The SDK is blocking, so every call runs in a worker thread under a
``CapacityLimiter`` reserved for Docker API threads. A call that overruns its
deadline is abandoned (the thread finishes on its own; the SDK's socket
timeout bounds it too) and, after the retries, becomes :class:`SandboxFault`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import docker
import docker.errors
import requests

from sandbox.errors import DockerUnavailable, SandboxFault

T = TypeVar("T")
log = logging.getLogger("sandbox")

_TRANSIENT = (docker.errors.APIError, requests.exceptions.RequestException, ConnectionError, TimeoutError)


def connect(timeout_s: float) -> Any:
    """A Docker client for the engine named by the environment, checked with a ping."""
    try:
        client = docker.from_env(timeout=max(int(timeout_s), 1))
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
        raise DockerUnavailable(f"cannot reach the Docker engine: {_first_line(exc)}") from exc
    return client


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


class Engine:
    """A Docker client whose calls have deadlines, retries and a thread limiter."""

    def __init__(self, client: Any, threads: int, timeout_s: float, retries: int) -> None:
        self.client = client
        self.limiter = anyio.CapacityLimiter(threads)
        self.timeout_s = timeout_s
        self.retries = retries

    async def call(
        self, what: str, fn: Callable[..., T], *args: Any, timeout_s: float | None = None, retries: int | None = None
    ) -> T:
        """Run ``fn(*args)`` in a worker thread; retry transient faults; raise SandboxFault at the end.

        Pass ``retries=0`` for calls that must not run twice (an exec consumes its spec).
        """
        deadline = timeout_s or self.timeout_s
        tries = self.retries if retries is None else retries
        last = ""
        for attempt in range(tries + 1):
            asked = time.monotonic()
            try:
                with anyio.fail_after(deadline):
                    return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter, abandon_on_cancel=True)
            except docker.errors.NotFound:
                raise
            except TimeoutError:
                last = f"no answer within {deadline:.0f}s"
                # Named, so that a stalled batch can be told apart from a slow daemon in the log.
                log.warning(
                    "sandbox: docker %s timed out after %.1fs (attempt %d of %d; %d of %d API threads busy)",
                    what,
                    time.monotonic() - asked,
                    attempt + 1,
                    tries + 1,
                    self.limiter.borrowed_tokens,
                    self.limiter.total_tokens,
                )
            except _TRANSIENT as exc:
                last = _first_line(exc)
            if attempt < tries:
                # Exponential backoff with jitter, small: the daemon is local.
                await anyio.sleep(min(0.2 * 2**attempt, 2.0) * (0.5 + random.random()))
        raise SandboxFault(f"docker {what} failed after {tries + 1} attempt(s): {last}")

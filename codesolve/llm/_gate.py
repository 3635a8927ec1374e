"""Limits shared beyond one client: a :class:`Gate` every request passes, and the pure rule behind it.

The client's own ``CapacityLimiter`` bounds requests per endpoint in one
process. When several processes (the nodes of a cluster) call one endpoint,
the limits must hold across all of them: each request then also takes a lease
from a :class:`Gate` (in a cluster, an actor every node asks) and gives it
back with the tokens it used. :class:`RateWindow` is the accounting such a
gate keeps: requests in flight, requests and tokens in the last minute.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from codesolve.llm._cache import CachedSample

WINDOW_S = 60.0
"""Requests and tokens per minute are counted over a sliding minute."""


class Gate(Protocol):
    """Leases for one endpoint's requests, held while a request is on the wire."""

    async def enter(self, endpoint: str) -> int:
        """Wait for a lease (its id) on ``endpoint`` (named ``llm:<model>``)."""
        ...

    async def leave(self, endpoint: str, lease: int, tokens: int) -> None:
        """Give a lease back; ``tokens`` is what the request used (0 when it failed)."""
        ...


class SampleCache(Protocol):
    """Where the client keeps and replays samples (the run's SQLite file, or a cache served to a cluster)."""

    async def get_many(self, keys: Sequence[str], max_chars: int | None = None) -> dict[str, CachedSample]:
        """The cached samples among ``keys``."""
        ...

    async def put_many(self, items: Sequence[tuple[str, CachedSample]], replace: bool = False) -> None:
        """Store samples."""
        ...

    def close(self) -> None:
        """Release the cache."""
        ...


@dataclass
class RateWindow:
    """Concurrency, requests/minute and tokens/minute of one endpoint: the pure rule of a gate.

    ``None`` limits are off. Tokens are only known once a reply is in, so a
    request is admitted while the last minute's tokens are under the limit
    (the usual client-side TPM rule: it can overshoot by one round of replies).
    """

    concurrency: int
    rpm: int | None = None
    tpm: int | None = None
    in_flight: dict[int, str] = field(default_factory=dict)
    """Lease id → holder (a node), so a dead holder's leases can be taken back."""
    requests: deque[float] = field(default_factory=deque)
    tokens: deque[tuple[float, int]] = field(default_factory=deque)
    next_id: int = 0

    def _expire(self, now: float) -> None:
        # `at + WINDOW_S <= now`: the very sum wait_s subtracts `now` from. As `at <= now - WINDOW_S`,
        # rounding could keep the oldest reply at the minute's edge while wait_s took it for gone,
        # and admit a request on its leaving although the replies after it were at the limit.
        while self.requests and self.requests[0] + WINDOW_S <= now:
            self.requests.popleft()
        while self.tokens and self.tokens[0][0] + WINDOW_S <= now:
            self.tokens.popleft()

    def wait_s(self, now: float) -> float:
        """0 when a lease can be had now; else how long until that may change (``inf``: until a release)."""
        self._expire(now)
        waits = [0.0]
        if len(self.in_flight) >= self.concurrency:
            waits.append(math.inf)
        if self.rpm is not None and len(self.requests) >= self.rpm:
            waits.append(self.requests[len(self.requests) - self.rpm] + WINDOW_S - now)
        if self.tpm is not None and sum(t for _, t in self.tokens) >= self.tpm:
            waits.append(self.tokens[0][0] + WINDOW_S - now)
        return max(waits)

    def take(self, now: float, holder: str) -> int | None:
        """A new lease id, or ``None`` when a limit is reached."""
        if self.wait_s(now) > 0:
            return None
        self.next_id += 1
        self.in_flight[self.next_id] = holder
        self.requests.append(now)
        return self.next_id

    def give_back(self, lease: int, tokens: int, now: float) -> None:
        """End a lease (unknown ids are ignored: a holder declared dead may still report late)."""
        if self.in_flight.pop(lease, None) is not None and tokens > 0:
            self.tokens.append((now, tokens))

    def drop_holder(self, holder: str) -> int:
        """Take back every lease of ``holder`` (a node that died); returns how many."""
        gone = [lease for lease, who in self.in_flight.items() if who == holder]
        for lease in gone:
            del self.in_flight[lease]
        return len(gone)

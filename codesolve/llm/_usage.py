"""Token, call and cost accounting, per role and per phase.

The engine reads these totals to enforce its caps; the LLM layer only counts.
Cost is tracked as the sum of priced calls plus a count of unpriced ones, so a
model missing from the price table makes the total unknown (None) without
hiding what the priced calls cost.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

CHARS_PER_TOKEN = 4
"""Estimate of text per token, used when an endpoint reports no usable count."""
CHARS_PER_TOKEN_FLOOR = 32
"""Text per token no tokenizer exceeds on real replies: a reported count below this floor is raised to it."""
MAX_REPORTED_TOKENS = 10**9
"""Ceiling on one response's reported count (a huge number must not overflow cost arithmetic)."""


def trusted_tokens(reported: object, chars: int) -> int:
    """A token count an endpoint reported, checked against the ``chars`` of text it covers.

    Missing, negative, boolean or non-numeric values are replaced by an
    estimate from the text; a valid count is kept, clamped to
    :data:`MAX_REPORTED_TOKENS` and raised to the floor the text implies.
    """
    value: int | None = None
    if isinstance(reported, int) and not isinstance(reported, bool):
        value = reported
    elif isinstance(reported, float) and math.isfinite(reported):
        value = math.ceil(reported)
    if value is None or value < 0:
        return math.ceil(chars / CHARS_PER_TOKEN)
    return max(min(value, MAX_REPORTED_TOKENS), math.ceil(chars / CHARS_PER_TOKEN_FLOOR))


@dataclass(slots=True)
class UsageStats:
    """Counters for one slice of the calls (everything, one role, or one phase)."""

    calls: int = 0
    """HTTP requests that returned completions."""
    samples: int = 0
    """Completions those requests produced."""
    cache_hits: int = 0
    """Completions replayed from the cache (no tokens spent)."""
    retries: int = 0
    """Failed attempts that were retried."""
    failures: int = 0
    """Calls that ended in an error."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    reasoning_tokens: int = 0
    """Part of ``completion_tokens`` spent on hidden reasoning."""
    latency_s: float = 0.0
    """Sum of call wall times (including retries and backoff)."""
    priced_cost_usd: float = 0.0
    """Cost of the calls whose model has a price."""
    unpriced_calls: int = 0
    """Calls whose model has no price."""

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    @property
    def cost_usd(self) -> float | None:
        """Total dollars, or None when any call had an unknown price."""
        return None if self.unpriced_calls else self.priced_cost_usd


@dataclass(frozen=True, slots=True)
class CallUsage:
    """What one successful HTTP request consumed."""

    samples: int
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    latency_s: float
    cost_usd: float | None


@dataclass(slots=True)
class Usage:
    """Usage of an :class:`LLM`: a total plus the same counters per role and per phase."""

    total: UsageStats = field(default_factory=UsageStats)
    by_role: dict[str, UsageStats] = field(default_factory=dict)
    by_phase: dict[str, UsageStats] = field(default_factory=dict)

    def _slices(self, role: str, phase: str) -> tuple[UsageStats, UsageStats, UsageStats]:
        return (
            self.total,
            self.by_role.setdefault(role, UsageStats()),
            self.by_phase.setdefault(phase, UsageStats()),
        )

    def record_call(self, role: str, phase: str, call: CallUsage) -> None:
        """Count one successful request."""
        for stats in self._slices(role, phase):
            stats.calls += 1
            stats.samples += call.samples
            stats.prompt_tokens += call.prompt_tokens
            stats.completion_tokens += call.completion_tokens
            stats.reasoning_tokens += call.reasoning_tokens
            stats.latency_s += call.latency_s
            if call.cost_usd is None:
                stats.unpriced_calls += 1
            else:
                stats.priced_cost_usd += call.cost_usd

    def record_cache_hits(self, role: str, phase: str, count: int) -> None:
        """Count completions served from the cache."""
        for stats in self._slices(role, phase):
            stats.cache_hits += count

    def record_retry(self, role: str, phase: str) -> None:
        """Count one failed attempt that will be retried."""
        for stats in self._slices(role, phase):
            stats.retries += 1

    def record_failure(self, role: str, phase: str) -> None:
        """Count one call that ended in an error."""
        for stats in self._slices(role, phase):
            stats.failures += 1

    @property
    def total_tokens(self) -> int:
        """Tokens spent so far, all roles and phases."""
        return self.total.total_tokens

    @property
    def cost_usd(self) -> float | None:
        """Dollars spent so far, or None when some model has no price."""
        return self.total.cost_usd

    def snapshot(self) -> Usage:
        """An independent copy, safe to keep while the original keeps counting."""
        return copy.deepcopy(self)

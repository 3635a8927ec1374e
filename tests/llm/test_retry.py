"""The retry policy's pure parts: Retry-After parsing and backoff bounds."""

from __future__ import annotations

import random
import re
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codesolve.llm import EndpointConfig
from codesolve.llm._retry import _SSL_SOURCE, Fault, retry_after, retry_delay

pytestmark = pytest.mark.timeout(60)


def test_retry_after_forms() -> None:
    assert retry_after({"retry-after": "3"}) == 3
    assert retry_after({"retry-after": "0.5"}) == 0.5
    assert retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after({}) is None
    assert retry_after({"retry-after": "soon"}) is None
    assert retry_after({"retry-after": "-4"}) is None
    assert retry_after({"retry-after": "nan"}) is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    waited = retry_after({"retry-after": later})
    assert waited is not None
    assert 25 <= waited <= 31
    earlier = format_datetime(datetime.now(UTC) - timedelta(seconds=30), usegmt=True)
    assert retry_after({"retry-after": earlier}) == 0


def test_retry_after_is_capped_by_the_endpoint() -> None:
    cfg = EndpointConfig(model="m", max_retry_after_s=10)
    assert retry_delay(Fault("rate_limit", "x", 3600), cfg, 0, random.Random(0)) == 10
    assert retry_delay(Fault("rate_limit", "x", 2), cfg, 0, random.Random(0)) == 2


@given(
    st.floats(min_value=0, max_value=5),
    st.floats(min_value=0, max_value=60),
    st.integers(min_value=0, max_value=20),
    st.integers(),
)
def test_backoff_is_bounded_and_jittered(base: float, ceiling: float, retry: int, seed: int) -> None:
    cfg = EndpointConfig(model="m", backoff_s=base, max_backoff_s=ceiling)
    delay = retry_delay(Fault("server", "x"), cfg, retry, random.Random(seed))
    cap = min(ceiling, base * 2.0**retry)
    assert cap / 2 <= delay <= cap


def test_retryable_kinds() -> None:
    assert Fault("timeout", "x").retryable
    assert Fault("malformed", "x").retryable
    assert not Fault("auth", "x").retryable
    assert not Fault("context_length", "x").retryable


@given(st.text(alphabet=" \t\nx(_ssl.c:1)", max_size=30))
def test_the_tls_source_is_cut_as_before(message: str) -> None:
    before = re.sub(r"\s*\(_ssl\.c:\d+\)", "", message)
    assert _SSL_SOURCE.sub("", message) == before


def test_a_long_run_of_blanks_in_a_tls_message_is_read_at_once() -> None:
    message = "x" + " " * 200_000 + "y (_ssl.c:1000)"
    started = time.perf_counter()
    assert _SSL_SOURCE.sub("", message) == "x" + " " * 200_000 + "y"
    assert time.perf_counter() - started < 1.0  # (from every blank of the run: ~50 s)

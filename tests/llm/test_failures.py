"""Failure handling end to end: retries, refusals, timeouts, unreachable and broken servers."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

from codesolve.errors import LLMError, LLMRequestError, LLMUnreachable
from codesolve.llm import (
    LLM,
    EndpointConfig,
    LLMConfig,
    Message,
    Rule,
    Scenario,
    ScriptedServer,
    Usage,
    scripted_endpoint,
)

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

ASK = [Message.user("write code")]


async def _ask(llm: LLM) -> str:
    [c] = await llm.complete("generator", ASK, temperature=0, max_tokens=64, phase="gen")
    return c.text


async def _run(scenario: Scenario, **endpoint: Any) -> tuple[str | LLMError, ScriptedServer, Usage, float]:
    """Ask once; return the text or the LLMError, the (closed) server, the usage and the elapsed time."""
    with ScriptedServer(scenario) as srv:
        async with LLM(LLMConfig(default=scripted_endpoint(srv, **endpoint)), env=srv.env, seed=0) as llm:
            started = anyio.current_time()
            try:
                outcome: str | LLMError = await _ask(llm)
            except LLMError as exc:
                outcome = exc
            return outcome, srv, llm.usage, anyio.current_time() - started


def _one_line(exc: object) -> str:
    assert isinstance(exc, LLMError), exc
    assert "\n" not in str(exc)
    return str(exc)


async def test_429_retry_after_is_honoured() -> None:
    scenario = Scenario(rules=[Rule(status=429, retry_after_s=0.5, times=1), Rule(content="ok")])
    outcome, srv, usage, elapsed = await _run(scenario)
    assert outcome == "ok"
    assert len(srv.chat_requests) == 2
    assert elapsed >= 0.45  # backoff alone would be ~10 ms
    assert usage.total.retries == 1


async def test_retry_after_is_capped() -> None:
    scenario = Scenario(rules=[Rule(status=429, retry_after_s=3600, times=1), Rule(content="ok")])
    outcome, _, _, elapsed = await _run(scenario, max_retry_after_s=0.2)
    assert outcome == "ok"
    assert 0.15 <= elapsed < 5


async def test_500_then_success() -> None:
    outcome, srv, usage, _ = await _run(Scenario(rules=[Rule(status=500, times=1), Rule(content="ok")]))
    assert outcome == "ok"
    assert len(srv.chat_requests) == 2
    assert (usage.total.retries, usage.total.failures, usage.total.calls) == (1, 0, 1)


async def test_persistent_500_gives_up_after_bounded_retries() -> None:
    outcome, srv, usage, _ = await _run(Scenario(rules=[Rule(status=503, error_message="overloaded")]), max_retries=3)
    assert isinstance(outcome, LLMUnreachable)
    message = _one_line(outcome)
    assert "4 attempts" in message
    assert "HTTP 503: overloaded" in message
    assert srv.base_url in message
    assert len(srv.chat_requests) == 4
    assert (usage.total.retries, usage.total.failures) == (3, 1)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (Rule(status=401), "HTTP 401"),
        (Rule(status=403), "HTTP 403"),
        (Rule(status=400, error_code="context_length_exceeded"), "context window"),
        (Rule(status=400, error_message="temperature out of range"), "temperature out of range"),
        (Rule(status=404), "model 'scripted' not found"),
        (Rule(status=422, error_message="bad field"), "HTTP 422: bad field"),
    ],
)
async def test_refusals_fail_at_once(rule: Rule, expected: str) -> None:
    outcome, srv, usage, _ = await _run(Scenario(rules=[rule]))
    assert isinstance(outcome, LLMRequestError)
    assert expected in _one_line(outcome)
    assert len(srv.chat_requests) == 1  # never retried
    assert usage.total.retries == 0


async def test_auth_error_names_the_key_variable() -> None:
    outcome, _, _, _ = await _run(Scenario(rules=[Rule(status=401)]))
    assert "CODESOLVE_SCRIPTED_API_KEY" in _one_line(outcome)


async def test_context_length_with_n_is_not_mistaken_for_unsupported_n() -> None:
    with ScriptedServer(Scenario(rules=[Rule(status=400, error_code="context_length_exceeded")])) as srv:
        async with LLM(LLMConfig(default=scripted_endpoint(srv)), env=srv.env) as llm:
            with pytest.raises(LLMRequestError, match="context window"):
                await llm.complete("generator", ASK, n=4, temperature=1, max_tokens=8, phase="g")
        assert len(srv.chat_requests) == 1


async def test_slow_server_times_out_is_retried_then_unreachable() -> None:
    outcome, srv, usage, elapsed = await _run(
        Scenario(rules=[Rule(content="late", latency_s=10)]), timeout_s=0.3, max_retries=1
    )
    assert isinstance(outcome, LLMUnreachable)
    assert "no answer within 0.3s" in _one_line(outcome)
    assert len(srv.chat_requests) == 2
    assert usage.total.retries == 1
    assert elapsed < 3


async def test_slow_once_then_fast_succeeds() -> None:
    scenario = Scenario(rules=[Rule(latency_s=10, times=1, content="late"), Rule(content="on time")])
    outcome, _, _, _ = await _run(scenario, timeout_s=0.3)
    assert outcome == "on time"


async def test_nothing_listening_at_first_contact_fails_at_once_naming_the_url() -> None:
    with ScriptedServer() as srv:
        dead_url = srv.base_url  # the port is free again once the server closed
    cfg = EndpointConfig(
        model="m", base_url=dead_url, api_key_env="K", max_retries=4, backoff_s=1.0, max_backoff_s=2.0, timeout_s=2
    )
    started = time.monotonic()
    async with LLM(LLMConfig(default=cfg), env={"K": "dummy"}) as llm:
        with pytest.raises(LLMUnreachable) as info:
            await _ask(llm)
        assert llm.usage.total.retries == 0  # no retry ladder: a second of backoff would show
    assert time.monotonic() - started < 1.0
    message = _one_line(info.value)
    assert dead_url in message
    assert "connection refused" in message.lower()


async def test_an_endpoint_that_answered_then_vanished_gets_the_retry_ladder() -> None:
    server = ScriptedServer(Scenario(rules=[Rule(content="ok")]))
    server.__enter__()
    cfg = EndpointConfig(
        model="m", base_url=server.base_url, api_key_env="K", max_retries=2, backoff_s=0.01, max_backoff_s=0.02
    )
    async with LLM(LLMConfig(default=cfg), env={"K": "dummy"}) as llm:
        assert await _ask(llm) == "ok"
        server.__exit__(None, None, None)  # a server restarting mid-run: worth retrying
        with pytest.raises(LLMUnreachable) as info:
            await _ask(llm)
        assert llm.usage.total.retries == 2
    assert "3 attempts" in _one_line(info.value)


async def test_malformed_json_is_retried() -> None:
    outcome, srv, _, _ = await _run(Scenario(rules=[Rule(malformed=True, times=1), Rule(content="ok")]))
    assert outcome == "ok"
    assert len(srv.chat_requests) == 2


async def test_persistent_malformed_json_is_a_clear_error() -> None:
    outcome, srv, _, _ = await _run(Scenario(rules=[Rule(malformed=True)]))
    assert isinstance(outcome, LLMUnreachable)
    assert "malformed response" in _one_line(outcome)
    assert len(srv.chat_requests) == 3


async def test_a_failing_single_cancels_its_siblings_and_raises_plainly() -> None:
    scenario = Scenario(rules=[Rule(call=2, status=401), Rule(content="ok", latency_s=0.2)], n_support="ignore")
    with ScriptedServer(scenario) as srv:
        async with LLM(LLMConfig(default=scripted_endpoint(srv, supports_n=False)), env=srv.env) as llm:
            with pytest.raises(LLMRequestError, match="401"):
                await llm.complete("generator", ASK, n=4, temperature=1, max_tokens=8, phase="g")



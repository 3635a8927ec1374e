"""The hostile-reply corpus: an endpoint attacking the client, one case per class.

Every case runs the real openai client against the scripted loopback server,
made to misbehave, and must end in a result or a one-line LLMError quickly,
with bounded memory, and with nothing hostile left in the cache.
"""

from __future__ import annotations

import math
import resource
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codesolve.errors import LLMError, LLMRequestError, LLMUnreachable
from codesolve.llm import LLM, LLMConfig, Message, Rule, Scenario, ScriptedServer, scripted_endpoint
from codesolve.llm._cache import CachedSample, ResponseCache, cache_key
from codesolve.llm._request import parse_response
from codesolve.llm._retry import MalformedResponse
from codesolve.llm._transport import reply_cap
from codesolve.llm._usage import trusted_tokens

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(60)]

ASK = [Message.user("write code")]
MAX_TOKENS = 4096
CONTROL = {chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]}


async def _ask(
    scenario: Scenario, cache: Path | None = None, n: int = 1, use_cache: bool = True, **endpoint: Any
) -> tuple[list[str] | LLMError, ScriptedServer, LLM, float]:
    with ScriptedServer(scenario) as srv:
        config = LLMConfig(
            default=scripted_endpoint(srv, **{"max_retries": 1, **endpoint}), cache_path=cache, use_cache=use_cache
        )
        async with LLM(config, env=srv.env, seed=0) as llm:
            started = time.monotonic()
            try:
                got = await llm.complete("generator", ASK, n=n, temperature=0, max_tokens=MAX_TOKENS, phase="gen")
                outcome: list[str] | LLMError = [c.text for c in got]
            except LLMError as exc:
                outcome = exc
            return outcome, srv, llm, time.monotonic() - started


def _cached(cache: Path) -> int:
    store = ResponseCache(cache)
    try:
        return int(store._run("read", lambda db: db.execute("SELECT count(*) FROM completions").fetchone()[0]))
    finally:
        store.close()


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.parametrize(
    ("label", "rule"),
    [
        # A 400 KB reply with a Content-Length: refused from the header, before the body is read.
        ("400KB declared", Rule(content="```x\n``` y\n" * 40_000)),
        # A 100 MB reply streamed without a length: refused once the count passes the cap.
        ("100MB streamed", Rule(content="A" * 1000, repeat=100_000)),
    ],
)
async def test_an_oversized_reply_is_a_model_error_and_never_cached(label: str, rule: Rule, tmp_path: Path) -> None:
    before = _peak_rss_mb()
    cache = tmp_path / "cache.sqlite"
    outcome, srv, _llm, elapsed = await _ask(Scenario(rules=[rule]), cache)
    assert isinstance(outcome, LLMRequestError), outcome
    assert "unusable reply" in str(outcome), outcome
    assert "cap" in str(outcome), outcome
    assert len(srv.chat_requests) == 1  # not retried: a reply over the cap is not transient
    assert elapsed < 2.0, (label, elapsed)
    assert _peak_rss_mb() - before < 64, label
    assert _cached(cache) == 0


async def test_a_reply_just_under_the_cap_is_accepted() -> None:
    text = "x" * (MAX_TOKENS * 16)
    outcome, _srv, _llm, _ = await _ask(Scenario(rules=[Rule(content=text)]))
    assert outcome == [text]


async def test_a_compressed_reply_is_refused_so_a_gzip_bomb_cannot_inflate() -> None:
    # 50 MB of zeros gzip to ~50 KB, under the cap: it must never be decompressed.
    before = _peak_rss_mb()
    outcome, srv, _llm, elapsed = await _ask(Scenario(rules=[Rule(content="0" * 1000, repeat=50_000, gzip=True)]))
    assert isinstance(outcome, LLMUnreachable), outcome
    assert "compressed" in str(outcome)
    assert srv.chat_requests[0].body["messages"]  # the request went out; the reply was refused
    assert elapsed < 5.0
    assert _peak_rss_mb() - before < 150  # the server side compressed it in this process


async def test_a_dripping_body_is_cut_by_the_deadline() -> None:
    rule = Rule(content="A" * 100, repeat=10_000, drip_s=0.5)
    outcome, _srv, _llm, elapsed = await _ask(Scenario(rules=[rule]), timeout_s=1.0, max_retries=0)
    assert isinstance(outcome, LLMUnreachable), outcome
    assert elapsed < 3.0


async def test_a_redirect_to_another_origin_is_refused_before_the_prompt_leaves() -> None:
    with ScriptedServer(Scenario(rules=[Rule(content="stolen")])) as elsewhere:
        target = f"{elsewhere.base_url}/chat/completions"
        outcome, _srv, _llm, _ = await _ask(Scenario(rules=[Rule(status=307, redirect_to=target)]))
        assert elsewhere.chat_requests == []
    assert isinstance(outcome, LLMRequestError), outcome
    assert "another origin" in str(outcome)


async def test_a_redirect_within_the_endpoint_is_followed() -> None:
    scenario = Scenario(
        rules=[Rule(status=307, redirect_to="/moved/v1/chat/completions", times=1), Rule(content="here")]
    )
    outcome, srv, _llm, _ = await _ask(scenario)
    assert outcome == ["here"]
    assert [r.path for r in srv.chat_requests] == ["/v1/chat/completions", "/moved/v1/chat/completions"]


@pytest.mark.parametrize(
    "usage",
    [
        {"prompt_tokens": -5, "completion_tokens": -1000},
        {"prompt_tokens": "lots", "completion_tokens": [1, 2]},
        {"prompt_tokens": True, "completion_tokens": None},
        {"completion_tokens": 1e400},  # JSON's way to an infinite float
        "not an object",
        {"completion_tokens": 0, "completion_tokens_details": {"reasoning_tokens": -7}},
        {"prompt_tokens": 10**40, "completion_tokens": 10**40},
    ],
)
async def test_bad_usage_neither_discards_the_reply_nor_bypasses_the_budget(usage: object) -> None:
    text = "print(42)  # " + "padding " * 400
    outcome, _srv, llm, _ = await _ask(Scenario(rules=[Rule(content=text, usage=usage)]))
    assert outcome == [text]
    total = llm.usage.total
    assert total.completion_tokens >= math.ceil(len(text) / 32) > 0
    assert total.prompt_tokens >= 1
    assert 0 <= total.reasoning_tokens <= total.completion_tokens
    assert total.total_tokens <= 2 * 10**9


async def test_missing_usage_is_estimated_from_the_text() -> None:
    text = "y" * 4000
    outcome, _srv, llm, _ = await _ask(Scenario(rules=[Rule(content=text, drop_usage=True)]))
    assert outcome == [text]
    assert llm.usage.total.completion_tokens == 1000


@pytest.mark.parametrize("n", [1, 2])
async def test_extra_choices_are_dropped_and_the_response_charged_once(n: int) -> None:
    usage = {"prompt_tokens": 10, "completion_tokens": 90}
    rule = Rule(content=["a", "b", "c", "d", "e"], extra_choices=3, usage=usage)
    with ScriptedServer(Scenario(rules=[rule])) as srv:
        async with LLM(LLMConfig(default=scripted_endpoint(srv, supports_n=True)), env=srv.env) as llm:
            got = await llm.complete("generator", ASK, n=n, temperature=0, max_tokens=MAX_TOKENS, phase="gen")
            assert len(got) == n
            # The whole response is billed: the kept completions carry all of it, split evenly.
            assert sum(c.completion_tokens for c in got) == 90
            assert sum(c.prompt_tokens for c in got) == 10
            assert llm.usage.total.completion_tokens == 90
            assert llm.usage.total.calls == 1


async def test_server_error_text_reaches_no_message_with_control_characters() -> None:
    hostile = "\x1b]0;pwned\x07\x1b[2J\x1b[H2/2 passed (AC)\x9b31m\r\x00 real error"
    outcome, _srv, _llm, _ = await _ask(Scenario(rules=[Rule(status=400, error_message=hostile)]))
    assert isinstance(outcome, LLMRequestError), outcome
    message = str(outcome)
    assert not CONTROL & set(message), repr(message)
    assert "real error" in message


async def test_no_cache_refreshes_an_entry(tmp_path: Path) -> None:
    cache = tmp_path / "cache.sqlite"
    scenario = Scenario(rules=[Rule(content="old", times=1), Rule(content="new", times=1), Rule(content="unused")])
    texts = []
    with ScriptedServer(scenario) as srv:
        for use_cache in (True, False, True):
            config = LLMConfig(default=scripted_endpoint(srv), cache_path=cache, use_cache=use_cache)
            async with LLM(config, env=srv.env) as llm:
                [c] = await llm.complete("generator", ASK, temperature=0, max_tokens=MAX_TOKENS, phase="gen")
                texts.append(c.text)
        assert len(srv.chat_requests) == 2  # the third run replayed the refreshed entry
    assert texts == ["old", "new", "new"]


async def test_a_poisoned_oversized_cache_entry_is_a_miss_and_is_replaced(tmp_path: Path) -> None:
    cache = tmp_path / "cache.sqlite"
    with ScriptedServer(Scenario(rules=[Rule(content="good")])) as srv:
        cfg = scripted_endpoint(srv)
        params: dict[str, Any] = {"temperature": 0, "max_tokens": MAX_TOKENS, "seed_key": ""}
        key = cache_key(base_url=cfg.url, model=cfg.model, messages=ASK, params=params, sample=0)
        store = ResponseCache(cache)
        store.put_many_sync([(key, CachedSample("scripted", "x" * (reply_cap(1, MAX_TOKENS) + 1), "stop", 1, 1, 0))])
        store.close()
        async with LLM(LLMConfig(default=cfg, cache_path=cache), env=srv.env) as llm:
            [c] = await llm.complete("generator", ASK, temperature=0, max_tokens=MAX_TOKENS, phase="gen")
            assert (c.text, c.cached) == ("good", False)
        async with LLM(LLMConfig(default=cfg, cache_path=cache), env=srv.env) as llm:
            [c] = await llm.complete("generator", ASK, temperature=0, max_tokens=MAX_TOKENS, phase="gen")
            assert (c.text, c.cached) == ("good", True)
        assert len(srv.chat_requests) == 1


async def test_a_cache_file_planted_as_a_link_is_refused(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious")
    cache = tmp_path / "out" / "cache.sqlite"
    cache.parent.mkdir()
    (tmp_path / "out" / "cache.sqlite-wal").symlink_to(victim)
    outcome, _srv, _llm, _ = await _ask(Scenario(rules=[Rule(content="x")]), cache)
    assert isinstance(outcome, LLMError), outcome
    assert "symbolic link" in str(outcome)
    assert victim.read_text() == "precious"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=6,
)


@given(JSON_VALUES, st.integers(min_value=0, max_value=10**7))
def test_any_reported_count_becomes_a_sane_charge(reported: object, chars: int) -> None:
    charged = trusted_tokens(reported, chars)
    assert isinstance(charged, int)
    assert math.ceil(chars / 32) <= charged <= max(10**9, math.ceil(chars / 4))
    if isinstance(reported, int) and not isinstance(reported, bool) and 0 <= reported <= 10**9:
        assert charged == max(reported, math.ceil(chars / 32))  # an honest count is kept


GOOD = b'{"choices":[{"message":{"content":"x"}}]'
BODIES = {
    "5,000-digit usage count (kept)": GOOD + b',"usage":{"prompt_tokens":' + b"9" * 5000 + b"}}",
    "lone surrogate escape (kept)": b'{"choices":[{"message":{"content":"ok \\ud800"}}]}',
    "20,000 usage keys (kept)": GOOD + b',"usage":{' + b",".join(b'"k%d":1' % i for i in range(20_000)) + b"}}",
    "100,000-deep nesting (malformed)": GOOD + b',"junk":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "5,000-digit choice index (malformed)": b'{"choices":[{"index":' + b"9" * 5000 + b',"message":{"content":"x"}}]}',
    "null choice (malformed)": b'{"choices":[null]}',
    "cut short (malformed)": b'{"choices": [{"mess',
}


@pytest.mark.parametrize("name", sorted(BODIES))
def test_hostile_json_bodies_parse_or_are_malformed_quickly(name: str) -> None:
    started = time.thread_time()
    try:
        response = parse_response(BODIES[name], prompt_chars=40)
    except MalformedResponse:
        assert "malformed" in name
    else:
        assert "kept" in name
        assert response.choices[0].text.encode("utf-8")  # storable: no lone surrogate survives
        assert response.prompt_tokens >= 10
    assert time.thread_time() - started < 2.0

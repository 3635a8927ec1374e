"""The SQLite response cache: replay with zero requests, no secrets on disk, concurrency."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from codesolve.errors import LLMConfigError, LLMRequestError
from codesolve.llm import LLM, Completion, LLMConfig, Message, Rule, Scenario, ScriptedServer, scripted_endpoint

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

SECRET = "sk-test-SECRET-never-on-disk-0123456789"
CYCLING = Scenario(
    rules=[Rule(match="judge", content=["A", "B"]), Rule(content=["one", "two", "three", "four", "five"])]
)


def _config(srv: ScriptedServer, cache: Path, *, use_cache: bool = True) -> LLMConfig:
    return LLMConfig(default=scripted_endpoint(srv), cache_path=cache, use_cache=use_cache)


async def _workload(llm: LLM) -> list[Completion]:
    gen = await llm.complete("generator", [Message.user("solve it")], n=3, temperature=0.8, max_tokens=64, phase="gen")
    judge = await llm.complete("judge", [Message.user("judge these")], temperature=0, max_tokens=8, phase="select")
    return gen + judge


def _same_sample(a: Completion, b: Completion) -> bool:
    fields = ("text", "finish_reason", "prompt_tokens", "completion_tokens", "reasoning_tokens", "model", "cost_usd")
    return all(getattr(a, f) == getattr(b, f) for f in fields)


async def test_rerun_replays_with_zero_requests(tmp_path: Path) -> None:
    cache = tmp_path / "responses.sqlite"
    with ScriptedServer(CYCLING) as srv:
        async with LLM(_config(srv, cache), env=srv.env) as llm:
            first = await _workload(llm)
        assert len(srv.chat_requests) == 2
    # A fresh server that would refuse everything: any request would fail the test.
    with ScriptedServer(Scenario(rules=[Rule(status=500)])) as srv2:
        cfg = LLMConfig(default=scripted_endpoint(srv2, base_url=srv.base_url), cache_path=cache)
        async with LLM(cfg, env=srv2.env) as llm:
            second = await _workload(llm)
            usage = llm.usage
        assert srv2.requests == []
    assert all(_same_sample(a, b) for a, b in zip(first, second, strict=True))
    assert [c.cached for c in first] == [False] * 4
    assert [c.cached for c in second] == [True] * 4
    assert (usage.total.calls, usage.total.cache_hits, usage.total_tokens) == (0, 4, 0)
    assert usage.by_phase["gen"].cache_hits == 3


async def test_cache_files_never_contain_the_api_key(tmp_path: Path) -> None:
    cache = tmp_path / "responses.sqlite"
    with ScriptedServer(CYCLING) as srv:
        cfg = LLMConfig(default=scripted_endpoint(srv, api_key_env="OPENAI_API_KEY"), cache_path=cache, use_cache=True)
        async with LLM(cfg, env={"OPENAI_API_KEY": SECRET}) as llm:
            await _workload(llm)
            on_disk = b"".join(p.read_bytes() for p in tmp_path.iterdir())  # db, -wal and -shm while open
        on_disk += b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"three" in on_disk  # we are reading the right files
    assert SECRET.encode() not in on_disk
    assert b"SECRET" not in on_disk


async def test_use_cache_false_bypasses_reads_but_still_writes(tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite"
    with ScriptedServer(CYCLING) as srv:
        for use_cache in (True, False):
            async with LLM(_config(srv, cache, use_cache=use_cache), env=srv.env) as llm:
                await _workload(llm)
        assert len(srv.chat_requests) == 4
    other = tmp_path / "other.sqlite"
    with ScriptedServer(CYCLING) as srv:
        async with LLM(_config(srv, other, use_cache=False), env=srv.env) as llm:
            await _workload(llm)
        async with LLM(_config(srv, other), env=srv.env) as llm:
            await _workload(llm)
        assert len(srv.chat_requests) == 2  # the uncached run's writes served the second


async def test_more_samples_later_only_requests_the_missing_ones(tmp_path: Path) -> None:
    with ScriptedServer(CYCLING) as srv:
        async with LLM(_config(srv, tmp_path / "c.sqlite"), env=srv.env) as llm:
            ask = [Message.user("solve it")]
            two = await llm.complete("generator", ask, n=2, temperature=1, max_tokens=9, phase="g")
            four = await llm.complete("generator", ask, n=4, temperature=1, max_tokens=9, phase="g")
        assert [r.n for r in srv.chat_requests] == [2, 2]
        assert [c.text for c in four[:2]] == [c.text for c in two]
        assert [c.cached for c in four] == [True, True, False, False]


async def test_parameters_and_seed_key_separate_entries(tmp_path: Path) -> None:
    with ScriptedServer(CYCLING) as srv:
        async with LLM(_config(srv, tmp_path / "c.sqlite"), env=srv.env) as llm:
            ask = [Message.user("solve it")]
            await llm.complete("generator", ask, temperature=1, max_tokens=9, phase="g")
            await llm.complete("generator", ask, temperature=1, max_tokens=9, phase="other-phase")  # hit
            await llm.complete("generator", ask, temperature=0.5, max_tokens=9, phase="g")
            await llm.complete("generator", ask, temperature=1, max_tokens=10, phase="g")
            await llm.complete("generator", ask, temperature=1, max_tokens=9, phase="g", seed_key="round-2")
        assert len(srv.chat_requests) == 4


async def test_failures_are_not_cached(tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite"
    with ScriptedServer(Scenario(rules=[Rule(status=401, times=1), Rule(content="ok")])) as srv:
        for _ in range(2):
            async with LLM(_config(srv, cache), env=srv.env) as llm:
                try:
                    await llm.complete("generator", [Message.user("x")], temperature=0, max_tokens=9, phase="g")
                except LLMRequestError:
                    pass
        assert len(srv.chat_requests) == 2


async def test_concurrent_tasks_share_one_cache(tmp_path: Path) -> None:
    cache = tmp_path / "c.sqlite"

    async def ask(llm: LLM, i: int) -> None:
        await llm.complete("generator", [Message.user(f"task {i}")], n=2, temperature=1, max_tokens=9, phase="g")

    with ScriptedServer(Scenario(rules=[Rule(content=["a", "b", "c"], latency_s=0.01)])) as srv:
        for _ in range(2):
            async with LLM(_config(srv, cache), env=srv.env) as llm, anyio.create_task_group() as tg:
                for i in range(25):
                    tg.start_soon(ask, llm, i)
        assert len(srv.chat_requests) == 25


async def test_unusable_cache_path_is_a_one_line_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with ScriptedServer(CYCLING) as srv:
        async with LLM(_config(srv, blocker / "c.sqlite"), env=srv.env) as llm:
            with pytest.raises(LLMConfigError) as info:
                await _workload(llm)
    assert "response cache" in str(info.value)
    assert "\n" not in str(info.value)

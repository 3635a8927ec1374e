"""End-to-end completions through the real openai client and the scripted server."""

from __future__ import annotations

import anyio
import pytest

from codesolve.llm import (
    INLINE_REPLY_SIZE,
    LLM,
    Completion,
    LLMConfig,
    Message,
    Rule,
    Scenario,
    ScriptedServer,
    scripted_endpoint,
)

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(30)]

PROMPT = [Message.system("You write Python."), Message.user("Solve: add two numbers")]


async def _gen(llm: LLM, n: int = 1, *, role: str = "generator") -> list[Completion]:
    return await llm.complete(role, PROMPT, n=n, temperature=0.7, max_tokens=256, phase="gen")  # type: ignore[arg-type]


async def test_basic_completion_sends_the_request_we_expect() -> None:
    scenario = Scenario(rules=[Rule(match="add two", content="print(sum(map(int, input().split())))")])
    with ScriptedServer(scenario) as srv:
        async with LLM(LLMConfig(default=scripted_endpoint(srv)), env=srv.env) as llm:
            [c] = await _gen(llm)
        assert c.text == "print(sum(map(int, input().split())))"
        assert (c.finish_reason, c.cached, c.model) == ("stop", False, "scripted")
        assert (c.prompt_tokens, c.completion_tokens, c.reasoning_tokens) == (7, 2, 0)  # words: the scripted tokenizer
        assert c.latency_s > 0
        [req] = srv.chat_requests
        assert req.messages == tuple(PROMPT)
        assert req.body["temperature"] == 0.7
        assert req.body["max_tokens"] == 256
        assert "n" not in req.body


async def test_replies_either_side_of_the_inline_parse_size_come_back_whole() -> None:
    # Small bodies are parsed on the event loop, larger ones in a worker thread: same result.
    texts = ["short reply", "y" * (INLINE_REPLY_SIZE * 2)]
    with ScriptedServer(Scenario(rules=[Rule(content=texts)])) as srv:
        async with LLM(LLMConfig(default=scripted_endpoint(srv)), env=srv.env) as llm:
            got = await llm.complete("generator", PROMPT, n=2, temperature=0.7, max_tokens=None, phase="gen")
    assert [c.text for c in got] == texts
    assert [c.finish_reason for c in got] == ["stop", "stop"]


async def test_max_completion_tokens_param() -> None:
    with ScriptedServer(Scenario(rules=[Rule(content="x")])) as srv:
        cfg = LLMConfig(default=scripted_endpoint(srv, max_tokens_param="max_completion_tokens"))
        async with LLM(cfg, env=srv.env) as llm:
            await _gen(llm)
        body = srv.chat_requests[0].body
        assert body["max_completion_tokens"] == 256
        assert "max_tokens" not in body


async def test_n_in_one_request_when_supported() -> None:
    with ScriptedServer(Scenario(rules=[Rule(content=["a", "b", "c", "d"])])) as srv:
        async with LLM(LLMConfig(default=scripted_endpoint(srv)), env=srv.env) as llm:
            got = await _gen(llm, n=4)
        assert [c.text for c in got] == ["a", "b", "c", "d"]
        [req] = srv.chat_requests
        assert req.n == 4


async def test_ignored_n_falls_back_to_parallel_singles_and_is_remembered() -> None:
    scenario = Scenario(rules=[Rule(content=["a", "b", "c"])], n_support="ignore")
    with ScriptedServer(scenario) as srv:
        async with LLM(LLMConfig(default=scripted_endpoint(srv)), env=srv.env) as llm:
            first = await _gen(llm, n=3)
            assert len(first) == 3
            assert [r.n for r in srv.chat_requests] == [3, 1, 1]
            again = [Message.user("again")]
            second = await llm.complete("generator", again, n=2, temperature=1, max_tokens=9, phase="g")
        assert len(second) == 2
        assert [r.n for r in srv.chat_requests[3:]] == [1, 1]  # no second probe
        assert sorted(c.text for c in first) == ["a", "b", "c"]


async def test_rejected_n_falls_back_to_singles() -> None:
    scenario = Scenario(rules=[Rule(content="x")], n_support="reject")
    with ScriptedServer(scenario) as srv:
        async with LLM(LLMConfig(default=scripted_endpoint(srv)), env=srv.env) as llm:
            got = await _gen(llm, n=3)
            await _gen(llm, n=2)
        assert [c.text for c in got] == ["x", "x", "x"]
        assert [r.n for r in srv.chat_requests] == [3, 1, 1, 1, 1, 1]


async def test_supports_n_false_never_sends_n() -> None:
    with ScriptedServer(Scenario(rules=[Rule(content="x")])) as srv:
        async with LLM(LLMConfig(default=scripted_endpoint(srv, supports_n=False)), env=srv.env) as llm:
            await _gen(llm, n=3)
        assert [r.n for r in srv.chat_requests] == [1, 1, 1]


async def test_length_and_empty_content_are_returned_not_raised() -> None:
    scenario = Scenario(rules=[Rule(match="long", content="def f(", finish_reason="length"), Rule(content="")])
    with ScriptedServer(scenario) as srv:
        async with LLM(LLMConfig(default=scripted_endpoint(srv)), env=srv.env) as llm:
            [cut] = await llm.complete("generator", [Message.user("long")], temperature=0, max_tokens=2, phase="g")
            [empty] = await llm.complete("generator", [Message.user("short")], temperature=0, max_tokens=2, phase="g")
        assert (cut.text, cut.finish_reason, cut.truncated) == ("def f(", "length", True)
        assert (empty.text, empty.finish_reason, empty.completion_tokens) == ("", "stop", 0)


async def test_roles_route_to_their_own_models() -> None:
    scenario = Scenario(
        rules=[Rule(model="judge-model", content="A is better"), Rule(model="gen-model", content="code")]
    )
    with ScriptedServer(scenario) as srv:
        cfg = LLMConfig(
            default=scripted_endpoint(srv, model="gen-model"),
            roles={"judge": scripted_endpoint(srv, model="judge-model")},
        )
        async with LLM(cfg, env=srv.env) as llm:
            [judged] = await _gen(llm, role="judge")
            [generated] = await _gen(llm, role="debugger")
        assert (judged.text, judged.model) == ("A is better", "judge-model")
        assert (generated.text, generated.model) == ("code", "gen-model")


async def test_concurrency_is_capped_by_the_endpoint_limiter() -> None:
    with ScriptedServer(Scenario(rules=[Rule(content="x", latency_s=0.05)])) as srv:
        cfg = LLMConfig(default=scripted_endpoint(srv, max_concurrency=2, supports_n=False))
        async with LLM(cfg, env=srv.env) as llm, anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(_gen, llm, 2)
        assert len(srv.chat_requests) == 6
        assert srv.max_in_flight == 2

"""Usage and cost accounting per call, role and phase."""

from __future__ import annotations

import pytest

from codesolve.llm import LLM, LLMConfig, Message, Price, Rule, Scenario, ScriptedServer, Usage, scripted_endpoint
from codesolve.llm._usage import CallUsage

pytestmark = pytest.mark.timeout(30)

SCENARIO = Scenario(
    rules=[
        Rule(model="judge", content="A"),
        Rule(content=["w1 w2 w3", "w1", "w1 w2"], reasoning_tokens=4),
    ]
)
# 10 words: the scripted server counts words as tokens.
PROMPT = [Message.system("one two three four"), Message.user("five six seven eight nine ten")]


@pytest.mark.anyio
async def test_tokens_and_cost_per_role_and_phase() -> None:
    with ScriptedServer(SCENARIO) as srv:
        cfg = LLMConfig(
            default=scripted_endpoint(srv, model="gen"),
            roles={"judge": scripted_endpoint(srv, model="judge")},
            prices={"gen": Price(prompt_per_m=1.0, completion_per_m=10.0)},
        )
        async with LLM(cfg, env=srv.env) as llm:
            samples = await llm.complete("generator", PROMPT, n=3, temperature=1, max_tokens=50, phase="gen")
            [verdict] = await llm.complete("judge", PROMPT, temperature=0, max_tokens=5, phase="select")
            usage = llm.usage.snapshot()

    # One request for three choices: 10 prompt tokens, 6 words + 3 * 4 reasoning = 18 completion tokens.
    assert sum(c.prompt_tokens for c in samples) == 10
    assert sum(c.completion_tokens for c in samples) == 18
    assert sum(c.reasoning_tokens for c in samples) == 12
    assert sum(c.cost_usd or 0 for c in samples) == pytest.approx((10 * 1.0 + 18 * 10.0) / 1e6)
    assert verdict.cost_usd is None  # the judge model has no price

    gen = usage.by_role["generator"]
    assert (gen.calls, gen.samples, gen.prompt_tokens, gen.completion_tokens, gen.reasoning_tokens) == (
        1,
        3,
        10,
        18,
        12,
    )
    assert gen.cost_usd == pytest.approx(190 / 1e6)
    assert usage.by_phase["select"].cost_usd is None
    assert usage.by_role["judge"].total_tokens == 11
    assert usage.total.calls == 2
    assert usage.total_tokens == 10 + 18 + 11
    assert usage.cost_usd is None  # one unpriced call makes the total unknown...
    assert usage.total.priced_cost_usd == pytest.approx(190 / 1e6)  # ...but the priced part is still known
    assert usage.total.latency_s > 0


def test_usage_arithmetic_without_a_server() -> None:
    usage = Usage()
    usage.record_call("generator", "gen", CallUsage(2, 100, 50, 10, 0.5, 0.25))
    usage.record_call("debugger", "debug", CallUsage(1, 10, 5, 0, 0.1, 0.75))
    usage.record_retry("debugger", "debug")
    usage.record_failure("judge", "select")
    usage.record_cache_hits("generator", "gen", 4)
    frozen = usage.snapshot()
    usage.record_call("judge", "select", CallUsage(1, 1, 1, 0, 0.1, None))
    assert frozen.cost_usd == pytest.approx(1.0)
    assert frozen.total_tokens == 165
    assert (frozen.total.retries, frozen.total.failures, frozen.total.cache_hits) == (1, 1, 4)
    assert frozen.by_role["generator"].samples == 2
    assert usage.cost_usd is None
    assert usage.total.unpriced_calls == 1
    assert usage.by_phase["select"].calls == 1

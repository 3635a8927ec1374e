"""The only code in codesolve that talks to a model.

An async OpenAI-compatible client with our own retry policy, named per-endpoint
concurrency limits, a SQLite response cache (a rerun replays with zero
requests), usage and cost accounting per role and phase, and a scripted
OpenAI-compatible server for tests and the demo.

Example::

    config = LLMConfig(default=EndpointConfig(model="gpt-4o-mini"), cache_path=Path("cache.sqlite"))
    async with LLM(config) as llm:
        [c] = await llm.complete("generator", [Message.user("hi")], temperature=0.0, max_tokens=64, phase="gen")

Errors are those of :mod:`codesolve.errors`: LLMConfigError (missing key,
unknown role), LLMRequestError (refused at once: auth, 400, 404, context
length) and LLMUnreachable (gave up after retries).
"""

from codesolve.llm._cache import CACHE_KEY_VERSION, CachedSample, ResponseCache, cache_key
from codesolve.llm._client import LLM
from codesolve.llm._config import DEFAULT_BASE_URL, EndpointConfig, LLMConfig, Price
from codesolve.llm._gate import Gate, RateWindow, SampleCache
from codesolve.llm._offload import INLINE_REPLY_SIZE, parse_reply
from codesolve.llm._scenario import RecordedRequest, Rule, Scenario
from codesolve.llm._scripted import SCRIPTED_KEY_ENV, ScriptedServer, scripted_endpoint
from codesolve.llm._types import ROLES, Completion, Message, Role, Speaker
from codesolve.llm._usage import Usage, UsageStats

__all__ = [
    "CACHE_KEY_VERSION",
    "DEFAULT_BASE_URL",
    "INLINE_REPLY_SIZE",
    "LLM",
    "ROLES",
    "SCRIPTED_KEY_ENV",
    "CachedSample",
    "Completion",
    "EndpointConfig",
    "Gate",
    "LLMConfig",
    "Message",
    "Price",
    "RateWindow",
    "RecordedRequest",
    "ResponseCache",
    "Role",
    "Rule",
    "SampleCache",
    "Scenario",
    "ScriptedServer",
    "Speaker",
    "Usage",
    "UsageStats",
    "cache_key",
    "parse_reply",
    "scripted_endpoint",
]

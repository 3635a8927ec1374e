"""One chat request to one endpoint, with deadline, limiter, retries and parsing.

The loop is bounded (``max_retries + 1`` attempts) and iterative. Each
attempt holds an endpoint slot only while it is on the wire (not while backing
off) and runs under ``anyio.fail_after``, because httpx timeouts bound each
read, not the whole response.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import anyio
import anyio.to_thread
import httpx2
import openai
from openai.types.chat import ChatCompletionMessageParam
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from codesolve.errors import LLMUnreachable
from codesolve.llm._config import EndpointConfig
from codesolve.llm._gate import Gate
from codesolve.llm._offload import parse_reply
from codesolve.llm._retry import Fault, MalformedResponse, RequestRejected, classify, one_line, retry_delay
from codesolve.llm._tokens import defused
from codesolve.llm._transport import capped, reply_cap
from codesolve.llm._types import Message
from codesolve.llm._usage import trusted_tokens


@dataclass(eq=False)
class Endpoint:
    """A live endpoint: its config, its openai client, its named limiter, what we learned about ``n``."""

    config: EndpointConfig
    client: openai.AsyncOpenAI
    name: str
    limiter: anyio.CapacityLimiter
    supports_n: bool | None = None
    gate: Gate | None = None
    """Leases shared with other processes (a cluster's global limits), or None."""
    answered: bool = False
    """True once the endpoint has sent any reply: until then, nothing listening is not retried."""


@dataclass(frozen=True, slots=True)
class Choice:
    """One returned choice."""

    text: str
    finish_reason: str


@dataclass(frozen=True, slots=True)
class Response:
    """A parsed successful response."""

    choices: tuple[Choice, ...]
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    latency_s: float = 0.0


@dataclass(frozen=True, slots=True)
class Sampling:
    """Sampling parameters of a call."""

    temperature: float
    max_tokens: int | None


_SURROGATE = re.compile("[\ud800-\udfff]")


class _Wire(BaseModel):
    # The subset of a chat completion we rely on; anything else is ignored.
    model_config = ConfigDict(extra="ignore")


class _WireMessage(_Wire):
    content: str | None = None


class _WireChoice(_Wire):
    index: int = 0
    message: _WireMessage
    finish_reason: str | None = None


class _WireResponse(_Wire):
    choices: list[_WireChoice] = Field(min_length=1)
    # Usage is read by hand (see parse_response): a bad usage field must not discard a good reply.
    usage: Any = None


def _field(obj: object, name: str) -> object:
    return obj.get(name) if isinstance(obj, dict) else None


def parse_response(body: bytes, prompt_chars: int = 0) -> Response:
    """Parse a chat completion body; MalformedResponse when it is not one.

    Usage is never taken on trust: a missing, negative or non-numeric count is
    estimated from the text, and a reported count below a conservative floor
    derived from the text is raised to it (:func:`trusted_tokens`), so a lying
    endpoint can neither bypass a token budget nor get a good reply discarded.
    ``prompt_chars`` is the length of the messages sent.
    """
    try:
        wire = _WireResponse.model_validate_json(body)
    except ValidationError as exc:
        wire = _lenient(body, exc)
    ordered = sorted(wire.choices, key=lambda c: c.index)
    # A JSON "\\ud800" escape decodes to a lone surrogate, which no cache or trace could store.
    choices = tuple(
        Choice(valid_text(c.message.content or ""), valid_text(c.finish_reason or "unknown")) for c in ordered
    )
    usage = wire.usage
    completion = trusted_tokens(_field(usage, "completion_tokens"), sum(len(c.text) for c in choices))
    reasoning = trusted_tokens(_field(_field(usage, "completion_tokens_details"), "reasoning_tokens"), 0)
    return Response(
        choices=choices,
        prompt_tokens=trusted_tokens(_field(usage, "prompt_tokens"), prompt_chars),
        completion_tokens=completion,
        reasoning_tokens=min(reasoning, completion),
    )


def valid_text(text: str) -> str:
    """``text`` with lone surrogates (not encodable as UTF-8) replaced by U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def _lenient(body: bytes, error: ValidationError) -> _WireResponse:
    # The fast parser refuses a whole body for one integer of 5,000 digits (in a usage field, say)
    # or a lone-surrogate escape. The standard one, with integers bounded, accepts both; a good
    # reply is not discarded for them. Anything else stays malformed, named by the first error.
    first = error.errors()[0]
    if first["type"] == "json_invalid":
        try:
            return _WireResponse.model_validate(json.loads(body, parse_int=_bounded_int))
        except (ValueError, RecursionError, ValidationError):
            pass
    where = ".".join(str(p) for p in first["loc"])
    raise MalformedResponse(one_line(f"{where}: {first['msg']}" if where else first["msg"], 160)) from None


def _bounded_int(digits: str) -> int | float:
    return int(digits) if len(digits) <= 18 else math.inf * (-1 if digits.startswith("-") else 1)


def to_wire(message: Message) -> ChatCompletionMessageParam:
    """The openai request form of ``message``: always encodable (see :func:`valid_text`), and with
    no chat-template control token spelled in it (see :mod:`codesolve.llm._tokens`)."""
    content = defused(valid_text(message.content))
    if message.role == "system":
        return {"role": "system", "content": content}
    if message.role == "assistant":
        return {"role": "assistant", "content": content}
    return {"role": "user", "content": content}


def request_body(cfg: EndpointConfig, messages: Sequence[Message], n: int, sampling: Sampling) -> dict[str, object]:
    """The chat completion request's JSON body (only the fields that are set)."""
    body: dict[str, object] = {
        "model": cfg.model,
        "messages": [to_wire(m) for m in messages],
        "temperature": sampling.temperature,
    }
    if n > 1:
        body["n"] = n
    if sampling.max_tokens is not None:
        body[cfg.max_tokens_param] = sampling.max_tokens
    return body


async def _attempt(endpoint: Endpoint, messages: Sequence[Message], n: int, sampling: Sampling) -> Response:
    cfg = endpoint.config
    async with endpoint.limiter, _leased(endpoint) as used:
        with anyio.fail_after(cfg.timeout_s), capped(reply_cap(n, sampling.max_tokens)):
            # The client's generic POST, not ``chat.completions.create``: the body is read and
            # checked here anyway (parse_response), and the typed path cost every call ~1 ms of
            # CPU walking its parameter types, and the first call of a process ~90 ms importing
            # the chat resources, on the engine's critical path. Headers, auth, errors and the
            # transport (the capped body) are the same.
            reply = await endpoint.client.post(
                "/chat/completions", body=request_body(cfg, messages, n, sampling), cast_to=httpx2.Response
            )
            body = reply.content
        # Up to the cap (megabytes with many choices): a large body is parsed in a worker thread,
        # a small one (most replies) here (see codesolve.llm._offload). Still holding the slot, so
        # the next request's budget check sees this one's usage.
        chars = sum(len(m.content) for m in messages)
        response = await parse_reply(len(body), parse_response, body, chars)
        used.append(response.prompt_tokens + response.completion_tokens)
        return response


@asynccontextmanager
async def _leased(endpoint: Endpoint) -> AsyncIterator[list[int]]:
    # A lease of the endpoint's shared gate for one attempt, given back (shielded) with the tokens used.
    if endpoint.gate is None:
        yield []
        return
    gate, used = endpoint.gate, list[int]()
    lease = await gate.enter(endpoint.name)
    try:
        yield used
    finally:
        with anyio.CancelScope(shield=True):
            await gate.leave(endpoint.name, lease, sum(used))


async def request(
    endpoint: Endpoint,
    messages: Sequence[Message],
    *,
    n: int,
    sampling: Sampling,
    rng: random.Random,
    on_retry: Callable[[], None],
) -> Response:
    """Send one request (asking for ``n`` choices), retrying transient faults.

    Raises RequestRejected (an LLMRequestError) at once on a refusal, and
    LLMUnreachable naming the base URL once retries are exhausted.
    """
    cfg = endpoint.config
    started = anyio.current_time()
    attempts = cfg.max_retries + 1
    fault: Fault | None = None
    for attempt in range(attempts):
        try:
            response = await _attempt(endpoint, messages, n, sampling)
        except Exception as exc:  # narrowed by classify(); anything else is a bug and propagates
            fault = classify(exc, cfg)
            if fault is None:
                raise
            if fault.kind == "refused" and not endpoint.answered:
                # The very first contact found no server: a wrong URL or a server not started.
                # The retry ladder would only delay the one line that says so.
                raise LLMUnreachable(f"cannot reach {cfg.url} (model {cfg.model}): {fault.detail}") from exc
            if not fault.retryable:
                said = "sent an unusable reply" if fault.kind in ("too_large", "redirect") else "refused the request"
                raise RequestRejected(f"{cfg.model} at {cfg.url} {said}: {fault.detail}", fault.kind) from exc
            if attempt + 1 < attempts:
                on_retry()
                await anyio.sleep(retry_delay(fault, cfg, attempt, rng))
            continue
        endpoint.answered = True
        return replace(response, latency_s=anyio.current_time() - started)
    assert fault is not None  # the loop runs at least once and only falls through on a fault
    tried = f"{attempts} attempt{'s' if attempts > 1 else ''}"
    raise LLMUnreachable(f"no usable answer from {cfg.url} (model {cfg.model}) after {tried}: {fault.detail}")

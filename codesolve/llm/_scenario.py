"""What the scripted model says: a :class:`Scenario` of ordered :class:`Rule` s.

The first rule that matches a request answers it. A rule can answer with text
(a list is cycled sample by sample), or misbehave the way real endpoints do:
an HTTP error, a ``Retry-After``, a malformed body, a truncated or empty
completion, or a reply slower than the client's timeout. ``times`` lets a rule
fire a few times and then fall through to the next one, which is how "fail
twice, then succeed" is written.

:class:`ScenarioState` is the mutable side (counters, recorded requests) and
is shared by the server threads under one lock.
"""

from __future__ import annotations

import gzip
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from codesolve.errors import LLMConfigError
from codesolve.llm._config import load_structured_file, one_line_validation_error
from codesolve.llm._types import Message, Speaker

_ERROR_DEFAULTS: dict[int, tuple[str, str, str]] = {
    # status: (type, code, message) in the shape OpenAI uses.
    400: ("invalid_request_error", "invalid_request", "Bad request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "permission_denied", "You are not allowed to use this model."),
    404: ("invalid_request_error", "model_not_found", "The model `{model}` does not exist."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached; try again later."),
}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
_CONTEXT_LENGTH_MESSAGE = "This model's maximum context length is 4096 tokens; your messages are too long."


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class Rule(_Model):
    """One scripted behaviour: when it matches, and what the server then does."""

    match: str = ""
    """Regex searched (``re.search``) in the last message of ``role``; empty matches everything."""
    role: Speaker = "user"
    """Whose last message ``match`` looks at."""
    any_message: bool = False
    """Search every message instead of only the last one of ``role``."""
    model: str | None = None
    """Only requests for this model."""
    call: int | None = Field(default=None, ge=1)
    """Only the server's nth chat request (1-based, counting every request)."""
    times: int | None = Field(default=None, ge=1)
    """Fire at most this many times, then fall through; None fires forever."""
    content: str | list[str] = ""
    """Reply text; a list is cycled per sample, continuing across calls."""
    finish_reason: str = "stop"
    """Finish reason of every choice, e.g. ``"length"``."""
    reasoning_tokens: int = Field(default=0, ge=0)
    """Hidden reasoning tokens reported per choice (added to completion tokens)."""
    latency_s: float = Field(default=0.0, ge=0)
    """Time from the request's arrival to the reply (matching the scenario inside it); longer
    than the client timeout simulates a hung server."""
    status: int = 200
    """HTTP status; 4xx/5xx send an OpenAI-style error body."""
    error_code: str | None = None
    """Error ``code``, e.g. ``"context_length_exceeded"``; defaults by status."""
    error_message: str | None = None
    """Error message; defaults by status."""
    retry_after_s: float | None = Field(default=None, ge=0)
    """Send this ``Retry-After`` header (seconds) with the error."""
    malformed: bool = False
    """Answer 200 with a body that is not valid JSON."""
    repeat: int = Field(default=1, ge=1)
    """Hostile: each reply text repeated this many times, streamed (a 100 MB reply without holding it)."""
    usage: Any = None
    """Hostile: the raw ``usage`` value to send instead of the computed one (any JSON)."""
    drop_usage: bool = False
    """Hostile: send no ``usage`` at all."""
    extra_choices: int = Field(default=0, ge=0)
    """Hostile: return this many choices more than were asked for."""
    redirect_to: str | None = None
    """Hostile: answer with ``status`` (a 3xx) and this ``Location``."""
    gzip: bool = False
    """Hostile: compress the body with gzip (``Content-Encoding: gzip``) whatever was asked."""
    drip_s: float = Field(default=0.0, ge=0)
    """Hostile: pause this long between 64 KiB chunks of the body."""

    @field_validator("match")
    @classmethod
    def _check_regex(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regex {value!r}: {exc}") from None
        return value

    @field_validator("status")
    @classmethod
    def _check_status(cls, value: int) -> int:
        if value != 200 and not 400 <= value <= 599 and value not in _REDIRECTS:
            raise ValueError(f"status must be 200, a redirect or 400..599, got {value}")
        return value

    @model_validator(mode="after")
    def _check_redirect(self) -> Rule:
        if (self.status in _REDIRECTS) != (self.redirect_to is not None):
            raise ValueError(f"status {self.status} and redirect_to go together: a 3xx status needs a redirect_to")
        return self

    def matches(self, model: str, messages: Sequence[Message], call: int) -> bool:
        """True when this rule applies to the request (ignoring ``times``)."""
        if self.model is not None and self.model != model:
            return False
        if self.call is not None and self.call != call:
            return False
        if self.any_message:
            return any(re.search(self.match, m.content) for m in messages)
        last = next((m.content for m in reversed(messages) if m.role == self.role), None)
        return last is not None and re.search(self.match, last) is not None


class Scenario(_Model):
    """An ordered list of rules plus how the endpoint treats ``n``."""

    rules: list[Rule] = Field(default_factory=list)
    """Tried in order; the first match answers. No match is a 400 naming the request."""
    n_support: Literal["yes", "ignore", "reject"] = "yes"
    """``yes`` returns n choices, ``ignore`` returns one, ``reject`` answers 400 to n > 1."""
    models: list[str] = Field(default_factory=lambda: ["scripted"])
    """Model ids listed by ``GET /v1/models``."""

    @classmethod
    def from_file(cls, path: Path | str) -> Scenario:
        """Load a JSON or YAML scenario; LLMConfigError naming the file on any problem."""
        data = load_structured_file(Path(path))
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise LLMConfigError(f"{path}: {one_line_validation_error(exc)}") from None


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """A request the scripted server received."""

    method: str
    path: str
    model: str
    messages: tuple[Message, ...]
    n: int
    body: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Reply:
    """What the server sends back: status, headers, body, after ``latency_s``.

    With ``stream``, the body is its chunks instead (no Content-Length; the
    connection closing ends it), sent ``drip_s`` apart.
    """

    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()
    latency_s: float = 0.0
    stream: Callable[[], Iterator[bytes]] | None = None
    drip_s: float = 0.0


def _words(text: str) -> int:
    # Deterministic stand-in for a tokenizer.
    return len(text.split())


def _json_reply(status: int, payload: object, headers: tuple[tuple[str, str], ...] = (), latency: float = 0) -> Reply:
    return Reply(status, json.dumps(payload).encode(), headers, latency)


def error_reply(status: int, message: str, *, code: str, kind: str = "invalid_request_error") -> Reply:
    """An OpenAI-style error reply."""
    return _json_reply(status, {"error": {"message": message, "type": kind, "param": None, "code": code}})


def _parse_messages(raw: object) -> tuple[Message, ...]:
    if not isinstance(raw, list):
        return ()
    parsed: list[Message] = []
    for item in raw:
        if not isinstance(item, dict):
            continue
        content = item.get("content")
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
        parsed.append(Message(cast(Speaker, str(item.get("role", ""))), content if isinstance(content, str) else ""))
    return tuple(parsed)


@dataclass
class ScenarioState:
    """Counters and recorded requests of one running scenario (thread-safe)."""

    scenario: Scenario
    requests: list[RecordedRequest] = field(default_factory=list)
    _chat_calls: int = 0
    _fired: dict[int, int] = field(default_factory=dict)
    _served: dict[int, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def recorded(self) -> list[RecordedRequest]:
        """A copy of the requests received so far."""
        with self._lock:
            return list(self.requests)

    def record_get(self, path: str) -> None:
        """Record a GET request."""
        with self._lock:
            self.requests.append(RecordedRequest("GET", path, "", (), 0, {}))

    def models_reply(self) -> Reply:
        """The ``GET /v1/models`` answer."""
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "scripted"} for m in self.scenario.models]
        return _json_reply(200, {"object": "list", "data": data})

    def chat_reply(self, path: str, raw_body: bytes) -> Reply:
        """Record a chat request and decide the reply."""
        try:
            body = json.loads(raw_body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            return error_reply(400, "scripted server: request body is not a JSON object", code="invalid_json")
        raw_n = body.get("n")
        n = raw_n if isinstance(raw_n, int) and raw_n > 0 else 1
        model, messages = str(body.get("model", "")), _parse_messages(body.get("messages"))
        with self._lock:
            self._chat_calls += 1
            self.requests.append(RecordedRequest("POST", path, model, messages, n, body))
            return self._decide(self.requests[-1], self._chat_calls)

    def _decide(self, req: RecordedRequest, call: int) -> Reply:
        if req.n > 1 and self.scenario.n_support == "reject":
            return error_reply(400, "n > 1 is not supported by this endpoint", code="unsupported_parameter")
        for index, rule in enumerate(self.scenario.rules):
            fired = self._fired.get(index, 0)
            if (rule.times is None or fired < rule.times) and rule.matches(req.model, req.messages, call):
                self._fired[index] = fired + 1
                return self._rule_reply(index, rule, req, call)
        last = req.messages[-1].content if req.messages else ""
        return error_reply(
            400, f"scripted server: no rule matches call {call} (last message {last[:60]!r})", code="no_rule_matched"
        )

    def _rule_reply(self, index: int, rule: Rule, req: RecordedRequest, call: int) -> Reply:
        if rule.malformed:
            return Reply(200, b'{"id": "chatcmpl-broken", "choices": [{"index": 0, "mess', (), rule.latency_s)
        if rule.status in _REDIRECTS:
            return Reply(rule.status, b"{}", (("Location", rule.redirect_to or "/"),), rule.latency_s)
        if rule.status != 200:
            return self._error(rule, req.model)
        choices = (req.n if self.scenario.n_support == "yes" else 1) + rule.extra_choices
        texts = [rule.content] if isinstance(rule.content, str) else rule.content or [""]
        start = self._served.get(index, 0)
        self._served[index] = start + choices
        picked = [texts[(start + j) % len(texts)] for j in range(choices)]
        completion = sum(_words(t) + rule.reasoning_tokens for t in picked)
        prompt = sum(_words(m.content) for m in req.messages)
        payload = {
            "id": f"chatcmpl-scripted-{call}",
            "object": "chat.completion",
            "created": 0,
            "model": req.model,
            "choices": [
                {
                    "index": j,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": rule.finish_reason,
                    "logprobs": None,
                }
                for j, text in enumerate(picked)
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "completion_tokens_details": {"reasoning_tokens": rule.reasoning_tokens * choices},
            },
        }
        if rule.usage is not None:
            payload["usage"] = rule.usage
        if rule.drop_usage:
            del payload["usage"]
        if rule.repeat > 1 or rule.gzip or rule.drip_s:
            return _hostile_reply(rule, payload, picked)
        return _json_reply(200, payload, latency=rule.latency_s)

    def _error(self, rule: Rule, model: str) -> Reply:
        kind, code, message = _ERROR_DEFAULTS.get(rule.status, ("server_error", "server_error", "Server error."))
        if rule.error_code == "context_length_exceeded":
            message = _CONTEXT_LENGTH_MESSAGE
        message = (rule.error_message or message).replace("{model}", model)
        reply = error_reply(rule.status, message, code=rule.error_code or code, kind=kind)
        headers = () if rule.retry_after_s is None else (("Retry-After", f"{rule.retry_after_s:g}"),)
        return Reply(reply.status, reply.body, headers, rule.latency_s)


def _hostile_reply(rule: Rule, payload: dict[str, Any], texts: list[str]) -> Reply:
    """A body streamed in chunks: each text repeated ``rule.repeat`` times, gzipped or dripped on request."""
    marks = [f"@@codesolve-text-{j}@@" for j in range(len(texts))]
    for choice, mark in zip(payload["choices"], marks, strict=True):
        choice["message"]["content"] = mark
    skeleton = json.dumps(payload)
    escaped = [json.dumps(t)[1:-1].encode() for t in texts]

    def chunks() -> Iterator[bytes]:
        rest = skeleton
        for mark, piece in zip(marks, escaped, strict=True):
            head, _, rest = rest.partition(mark)
            yield head.encode()
            # Whole pieces per chunk, about _CHUNK bytes each, never the full text at once.
            per_chunk = max(1, _CHUNK // max(1, len(piece)))
            left = rule.repeat
            while left > 0:
                yield piece * min(per_chunk, left)
                left -= per_chunk
        yield rest.encode()

    if not rule.gzip:
        return Reply(200, b"", (), rule.latency_s, chunks, rule.drip_s)
    body = gzip.compress(b"".join(chunks()))
    return Reply(200, body, (("Content-Encoding", "gzip"),), rule.latency_s, None, rule.drip_s)

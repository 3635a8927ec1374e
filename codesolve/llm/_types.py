"""Hot-path values of the LLM layer: roles, messages and completions.

These are frozen dataclasses (cheap, hashable, immutable); configuration lives
in :mod:`codesolve.llm._config` as pydantic models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from codesolve.errors import LLMConfigError

Role = Literal["generator", "debugger", "synthesizer", "judge"]
"""What a call is for. Each role may use its own endpoint and model."""

ROLES: tuple[Role, ...] = get_args(Role)
"""Every role, in pipeline order."""


def as_role(value: str) -> Role:
    """``value`` as a :data:`Role`; LLMConfigError for anything else."""
    for role in ROLES:
        if role == value:
            return role
    raise LLMConfigError(f"unknown LLM role {value!r}; expected one of {', '.join(ROLES)}")


Speaker = Literal["system", "user", "assistant"]
"""Who says a message in a chat."""


@dataclass(frozen=True, slots=True)
class Message:
    """One chat message. Use the constructors rather than bare dicts."""

    role: Speaker
    content: str

    @classmethod
    def system(cls, content: str) -> Message:
        """A system message."""
        return cls("system", content)

    @classmethod
    def user(cls, content: str) -> Message:
        """A user message."""
        return cls("user", content)

    @classmethod
    def assistant(cls, content: str) -> Message:
        """An assistant message (a previous model turn)."""
        return cls("assistant", content)


@dataclass(frozen=True, slots=True)
class Completion:
    """One sampled completion.

    Token counts and cost are this sample's share of the request that produced
    it: when one request returns several choices, the request's usage is split
    evenly across them, so summing over completions gives what was billed.
    ``cost_usd`` is None when the model has no price. A ``cached`` completion
    was replayed from the response cache: its tokens and cost describe the
    original request and were not spent again (``latency_s`` is 0).
    ``finish_reason`` is what the server said (``"stop"``, ``"length"``...),
    or ``"unknown"`` when it said nothing; the engine decides what to do with
    truncated or empty text.
    """

    text: str
    finish_reason: str
    prompt_tokens: int
    completion_tokens: int
    reasoning_tokens: int
    latency_s: float
    cached: bool
    cost_usd: float | None
    model: str = ""

    @property
    def truncated(self) -> bool:
        """True when the model stopped at the token limit."""
        return self.finish_reason == "length"

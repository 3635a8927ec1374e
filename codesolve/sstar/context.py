"""The narrow view of a solve that selection works through: ask, record, spend, config and rng.

Selection never sees the engine: it gets this context, the task and the
candidates, so the two modules do not import each other.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

from codesolve.llm import Completion, Message, Role
from codesolve.sstar.config import EngineConfig
from codesolve.sstar.spend import Spend
from codesolve.tasks.base import Task

if TYPE_CHECKING:  # (the prefetch runs selection's inputs: a runtime import would be a cycle)
    from codesolve.sstar.prefetch import FreeRows

EventKind = Literal["llm", "exec", "decision", "note"]


class Ask(Protocol):
    """One budget-checked, recorded model call."""

    async def __call__(self, role: Role, messages: list[Message], phase: str) -> list[Completion]:
        """The call's completions."""
        ...


class Record(Protocol):
    """Appends one event to the trace."""

    def __call__(self, kind: EventKind, phase: str, candidate: str | None = None, **data: Any) -> None:
        """Record the event."""
        ...


@dataclass(frozen=True)
class SelectionContext:
    """What selection may use of a solve."""

    task: Task
    ask: Ask
    record: Record
    spend: Spend
    config: EngineConfig
    rng: random.Random
    free_rows: FreeRows
    """The solve's survivors on the LLM-free inputs, started while it was still debugging."""
    progress: Callable[[str], None] = lambda _line: None

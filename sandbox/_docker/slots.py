"""One warm container of the Docker pool, and what the pool remembers about it."""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import anyio

from sandbox._docker.session import AgentSession
from sandbox._types import Program
from sandbox.image.recipe import SANDBOX_UID
from sandbox.languages import get_language

log = logging.getLogger("sandbox")
_REMEMBERED = 64
"""Compiled programs remembered per container (the agent keeps up to 32 MB of them)."""


@dataclass(eq=False)
class Slot:
    """A container and the agent running in it."""

    container: Any
    agent: AgentSession | None = None
    cpu: int | None = None
    """The engine CPU the container is pinned to (None: not pinned)."""
    uid: int = SANDBOX_UID
    """The uid the container runs as (its own: see ``recipe.SANDBOX_UIDS``)."""
    compiled: dict[str, None] = field(default_factory=dict)
    """Programs its agent compiled, most recent last (it keeps them: see ``runtime.artefacts``)."""

    def remember(self, program: str) -> None:
        """Note that the agent has compiled ``program`` (a bounded record, like the agent's cache)."""
        self.compiled.pop(program, None)
        self.compiled[program] = None
        while len(self.compiled) > _REMEMBERED:
            del self.compiled[next(iter(self.compiled))]


def compiled_key(program: Program) -> str:
    """What tells one compiled program from another, for :meth:`Slot.remember` ("" when the
    language is not compiled: nothing to gain from going back to the same container)."""
    if not get_language(program.language).compile:
        return ""
    digest = hashlib.sha256(program.language.encode())
    for name, text in program.files:
        digest.update(b"\0" + name.encode() + b"\0" + text.encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


async def settled(slot: Slot, timeout_s: float) -> bool:
    """Whether the slot's agent has said its last batch is taken down: read at once when the word
    is already there, else waited for on the event loop up to ``timeout_s``. A slot that never
    says so is logged (a container lost, and a batch that waited)."""
    agent = slot.agent
    if agent is None:
        return False
    started = time.monotonic()
    # Shielded (it has its own deadline): a wait cancelled half-way would leave the agent's
    # stream anywhere, and the slot, already taken from the idle list, in nobody's hands.
    with anyio.CancelScope(shield=True):
        done = await agent.settle(timeout_s)
    if not done:
        container = str(getattr(slot.container, "id", "?"))[:12]
        log.warning(
            "sandbox: container %s did not settle after its last batch (%.1fs)", container, time.monotonic() - started
        )
    return done

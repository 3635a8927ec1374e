"""The record of a solve: every prompt, completion, execution and decision, and the result."""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class TraceEvent(_Record):
    """One thing that happened. ``data`` holds the kind-specific details."""

    at: float
    """Seconds since the solve started."""
    kind: Literal["llm", "exec", "decision", "note"]
    """``llm``: a model call; ``exec``: a sandbox run; ``decision``: a selection step; ``note``: anything else."""
    phase: str
    """``generate``, ``debug``, ``synthesize``, ``judge``, ``select``…"""
    candidate: str | None = None
    """Candidate key (code hash prefix) the event concerns, if any."""
    data: dict[str, Any] = Field(default_factory=dict)
    """Details: messages and completions, verdicts, timings, tokens, cost."""


StopKind = Literal["budget", "model", "interrupted", "other"]
"""Why a solve ended early: a budget cap (tokens, dollars, wall time), the model endpoint failing,
the user (Ctrl-C), or ``other`` (a record written before stop reasons had a kind)."""


class StopReason(_Record):
    """Why a solve ended before it finished: its kind, and the details in words."""

    kind: StopKind
    detail: str
    """One line, e.g. ``token cap 5 reached`` or the endpoint's error."""

    @model_validator(mode="before")
    @classmethod
    def _words_only(cls, value: Any) -> Any:
        # Stores and traces written before stop reasons had a kind held the words only.
        return {"kind": "other", "detail": value} if isinstance(value, str) else value

    def __str__(self) -> str:
        return f"model error: {self.detail}" if self.kind == "model" else self.detail


class Solution(_Record):
    """The answer to one problem and why it was chosen."""

    task_id: str
    """The problem."""
    code: str | None
    """The selected program (``None`` when no candidate could be extracted)."""
    candidate: str | None
    """Key of the selected candidate."""
    selector: str
    """Selector used."""
    why: str
    """Human-readable reason for the choice."""
    public_passed: int
    """Public tests the selected program passes."""
    public_total: int
    """Public tests."""
    public_verdicts: list[str]
    """Verdict per public test."""
    stopped_by: StopReason | None = None
    """What cut the run short (a budget cap, a model error, Ctrl-C), if anything."""
    candidates: int = 0
    """Candidates generated."""
    survivors: int = 0
    """Candidates passing every public test."""
    clusters: int = 0
    """Behaviour clusters among survivors."""
    judge_calls: int = 0
    """Model calls spent in selection."""
    tokens: int = 0
    """Prompt + completion tokens spent."""
    cost_usd: float | None = None
    """Dollars spent (``None`` when a price is unknown)."""
    wall_s: float = 0.0
    """Wall-clock seconds."""


class Trace(_Record):
    """Every event of one solve, plus its solution."""

    task_id: str
    events: list[TraceEvent] = Field(default_factory=list)
    solution: Solution | None = None


class Recorder:
    """Appends events to a trace with timestamps relative to the start."""

    def __init__(self, task_id: str) -> None:
        self.trace = Trace(task_id=task_id)
        self.started = time.monotonic()

    def elapsed(self) -> float:
        """Seconds since the start."""
        return time.monotonic() - self.started

    def add(
        self, kind: Literal["llm", "exec", "decision", "note"], phase: str, candidate: str | None = None, **data: Any
    ) -> None:
        """Record one event."""
        self.trace.events.append(
            TraceEvent(at=round(self.elapsed(), 4), kind=kind, phase=phase, candidate=candidate, data=data)
        )

"""What a run store holds, as pydantic records (``extra="forbid"``): one model per table.

A finished problem reaches the store as one :class:`ProblemResult` (every row
it owns), written in one transaction, so a problem is either wholly in the
store or not at all. Evaluation adds an :class:`EvalResult` per problem the
same way.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from codesolve.sstar import EngineConfig, StopReason, TraceEvent

Status = Literal["running", "done", "failed"]
"""``running`` (started, not finished: redone on resume), ``done``, or ``failed`` (with a reason)."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class SweRunConfig(_Record):
    """What a ``codesolve swe`` run adds to its config: where repositories are, what makes the patches."""

    repos: str
    """The folder of local repositories or mirrors (absolute)."""
    specs: str | None = None
    """The folder of extra build specs (absolute), if any."""
    patches: Literal["model", "gold", "empty"] = "model"
    """The engine makes the patches, or the dataset's gold patches / empty patches are graded."""
    model_name_or_path: str
    """The predictions' ``model_name_or_path``."""
    public_tests: bool = False
    """FAIL_TO_PASS shown to the solver (``--public-tests``)."""


class RunConfig(_Record):
    """Everything that shapes a run's results; a resumed run must have the same."""

    name: str
    """The run's name (its directory under the runs dir)."""
    version: str
    """codesolve version that started the run."""
    problems: list[str]
    """Problem files, as absolute paths, in order."""
    format: str | None = None
    """Format forced with ``--format`` (detected per file when ``None``)."""
    ids: list[str] | None = None
    """Only these problem ids (``--id``)."""
    limit: int | None = None
    """Only the first this many problems (``--limit``)."""
    model: str
    """Model of every role unless overridden."""
    judge_model: str | None = None
    """Model of the judge and synthesizer roles."""
    base_url: str | None = None
    """The OpenAI-compatible endpoint."""
    engine: EngineConfig
    """The S* configuration (N, rounds, selector, budgets…)."""
    swe: SweRunConfig | None = None
    """Set for a ``codesolve swe`` run (its problems are SWE instances, graded like SWE-bench)."""


class ProblemRow(_Record):
    """One problem of the run and where it stands."""

    id: str
    seq: int
    """Position in the problem stream (file order)."""
    source: str
    """File and record it came from."""
    status: Status
    reason: str = ""
    """Why it failed (empty when done)."""
    wall_s: float = 0.0
    tokens: int = 0
    """Prompt + completion tokens of every sample it used, replayed ones included (stable across resumes)."""
    fresh_tokens: int = 0
    """Of those, tokens actually requested from the endpoint this time."""
    cost_usd: float | None = 0.0
    """Dollars of those tokens at the price table (``None`` when a price is unknown)."""


class CandidateRound(_Record):
    """A candidate's code in one round and what it did on the public tests."""

    problem: str
    index: int
    round: int
    """0 is the generated code; k is after k debug replies."""
    key: str
    """Code hash prefix (the trace's candidate key)."""
    code: str | None
    passed: int = 0
    total: int = 0
    verdicts: list[str] = Field(default_factory=list)
    has_program: bool = True
    infra_error: bool = False

    @property
    def all_passed(self) -> bool:
        """True when a program ran and passed every public test."""
        return self.has_program and not self.infra_error and self.passed == self.total


class Execution(_Record):
    """One sandbox run the engine recorded (public tests of a candidate)."""

    problem: str
    seq: int
    phase: str
    candidate: str | None
    passed: int
    total: int
    verdicts: list[str]
    shared: bool = False
    """True when an identical program's result was reused instead of run again."""


class Selection(_Record):
    """The program chosen for a problem, and why."""

    problem: str
    candidate_key: str | None
    candidate_index: int | None
    code: str | None
    selector: str
    why: str
    survivors: int = 0
    clusters: int = 0
    judge_calls: int = 0
    stopped_by: StopReason | None = None
    public_passed: int = 0
    public_total: int = 0
    public_verdicts: list[str] = Field(default_factory=list)
    patch: str | None = None
    """The unified diff made from the chosen candidate (SWE instances: the prediction's ``model_patch``)."""


class UsageRow(_Record):
    """Model usage of one problem, for one role in one phase."""

    problem: str
    role: str
    phase: str
    calls: int = 0
    samples: int = 0
    cached: int = 0
    """Samples replayed from the response cache."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = 0.0


class ErrorRow(_Record):
    """Something that went wrong with a problem (its reason, a traceback, an SE run)."""

    problem: str
    seq: int
    kind: str
    """``model``, ``budget``, ``sandbox``, ``no program``, ``malformed``, ``unsupported``, ``crash`` (and its
    ``traceback``)."""
    message: str


def pack_events(events: Sequence[TraceEvent]) -> bytes:
    """A problem's trace events as the store keeps them: one compressed JSON list, in order.

    Packed where the problem was solved (on its node, or in the local lane), so that the
    store's single writer only inserts bytes: compressing ~2N events of prompts and code
    was most of a result's cost to the writer.
    """
    rows = [[e.at, e.kind, e.phase, e.candidate, e.data] for e in events]
    return zlib.compress(json.dumps(rows).encode("utf-8", "surrogatepass"), 6)


def unpack_events(blob: bytes) -> list[TraceEvent]:
    """Inverse of :func:`pack_events`."""
    rows = json.loads(zlib.decompress(blob).decode("utf-8", "surrogatepass"))
    return [TraceEvent(at=at, kind=kind, phase=phase, candidate=c, data=data) for at, kind, phase, c, data in rows]


class EvalRun(_Record):
    """One distinct program of a problem run on its hidden tests."""

    problem: str
    code_key: str
    verdict: str
    """``AC``, the first failing test's verdict, ``none`` (no tests) or ``incomplete``."""
    passed: int
    total: int
    seconds: float
    rows: list[dict[str, Any]] = Field(default_factory=list)


class EvalTarget(_Record):
    """Which program a target (``selected`` or ``candidate:<i>``) of a problem is."""

    problem: str
    target: str
    code_key: str


class EvalResult(_Record):
    """A problem's evaluation: written together or not at all."""

    problem: str
    runs: list[EvalRun]
    targets: list[EvalTarget]
    error: str = ""
    """Why it could not be evaluated (e.g. no problem record), else empty."""


class ProblemResult(_Record):
    """Every row one finished problem owns: written together or not at all."""

    # JSON (a node's reply) carries the packed events as base64.
    model_config = ConfigDict(
        extra="forbid", use_attribute_docstrings=True, ser_json_bytes="base64", val_json_bytes="base64"
    )

    problem: ProblemRow
    problem_json: str | None = None
    """The problem itself (for evaluation and reports), ``None`` for a malformed record."""
    candidates: list[CandidateRound] = Field(default_factory=list)
    executions: list[Execution] = Field(default_factory=list)
    selection: Selection | None = None
    usage: list[UsageRow] = Field(default_factory=list)
    errors: list[ErrorRow] = Field(default_factory=list)
    events: bytes = b""
    """The trace events, packed with :func:`pack_events` (empty: none)."""
    evaluation: EvalResult | None = None
    """Its grade when solving graded it too (SWE instances), written in the same transaction."""

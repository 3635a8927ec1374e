"""Every message between host, agent, driver and fork server, described once. Standard library only.

Imported for type checking only (``if TYPE_CHECKING:``), never at run time: the fork server
imports no Python module it can avoid (each one is copied into every test child), and the
messages are plain dicts on the wire (JSON between host and driver, :mod:`marshal` between
driver and fork server). Both ends of each message name the type here, so mypy checks that
what one side writes is what the other reads.

::

    host ──AgentRequest (spec: Spec)──► agent ──► driver ──SetupRequest, RunRequest, QuitRequest──► fork server
    host ◄──────────── Event lines ─────────────── driver ◄──────────── Hello, RunReport ──────────┘
    agent ──ZygoteLoad, ZygoteFork──► zygote (PID 1) ──ZygoteReply──► agent
"""

from __future__ import annotations

from typing import Literal, NotRequired, TypedDict


class LimitsWire(TypedDict):
    """A test's limits (``sandbox.Limits.to_wire``)."""

    cpu: float
    wall: float
    memory_mb: int
    output: int
    procs: int
    fsize: int


class RunLimits(LimitsWire):
    """The limits as the fork server gets them: with the local backend's stack cap."""

    stack_cap: int


class LanguageWire(TypedDict):
    """How to compile and run the program (``sandbox.languages.Language.to_wire``)."""

    name: str
    compile: list[str] | None
    run: list[str]
    runner: Literal["fork", "exec"]
    oom_markers: list[str]


class CheckerWire(TypedDict, total=False):
    """How outputs are compared (``sandbox.CheckerSpec.to_wire``; empty for a plain command)."""

    kind: str
    abs_tol: float
    rel_tol: float
    protocol: str


class TestWire(TypedDict):
    """One test (``sandbox.TestCase.to_wire``)."""

    name: str
    stdin: str
    expected: str | None
    call: str | None
    check: str | None


class ProgramWire(TypedDict):
    """A checker program shipped beside the candidate."""

    dir: str
    language: LanguageWire
    entry: str


class Options(TypedDict, total=False):
    """Where a batch runs: the backend's part of a :class:`Spec` (each backend's ``_options``)."""

    container: bool
    wipe: list[str]
    isolate_net: bool
    as_slack: int
    path: str
    stack_cap: int
    lazy_events: bool
    yieldable: bool
    """The host may ask this batch to stop between two tests (the agent's ``YIELD``)."""


class Spec(Options, total=False):
    """One batch, as the host sends it to the driver (``sandbox._bundle``)."""

    mode: Literal["tests", "exec"]
    work: str
    prog: str
    entry: str
    function: str | None
    language: LanguageWire
    limits: LimitsWire
    checker: CheckerWire
    tests: list[TestWire]
    fail_fast: bool
    checker_program: ProgramWire
    nonce: str
    # A plain command (mode "exec"):
    cwd: str
    command: list[str]
    collect: list[str]


class AgentRequest(TypedDict):
    """The JSON header of one request to the agent; the files' bytes follow it in order."""

    root: str
    spec: Spec
    files: list[tuple[str, int]]


class RunParameters(TypedDict):
    """What every run of a batch shares: sent to the fork server once, at setup."""

    limits: RunLimits
    runner: Literal["fork", "exec"]
    entry: str
    function: str | None
    argv: list[str]
    env: dict[str, str]
    as_slack: int
    nproc: int


class SetupRequest(TypedDict):
    """Driver → fork server: adopt a batch."""

    op: Literal["setup"]
    cwd: str
    env: dict[str, str]
    warm: list[str]
    run: RunParameters
    precompile: bool


class RunRequest(TypedDict, total=False):
    """Driver → fork server: run the program once (an empty one is sent as ``forkserver.RUN``)."""

    op: Literal["run"]
    check: str
    nonce: str
    compile_first: bool
    """Python: the program has not passed its syntax check yet; the child says whether it
    compiled before running it (see ``harness.COMPILED_FD``)."""
    precompile: bool
    """Python: the program passed its syntax check in an earlier run of this batch and its
    files were just restored: the fork server compiles it once, before this run's fork."""


class Run(RunParameters, RunRequest):
    """One run as the fork server carries it out: the batch's parameters, and the request's."""


class QuitRequest(TypedDict):
    """Driver → fork server: stop."""

    op: Literal["quit"]


class Hello(TypedDict):
    """Fork server → driver: started (with how it isolates tests), or set up."""

    ready: bool
    isolation: NotRequired[str]


class RunReport(TypedDict):
    """Fork server → driver: how one run ended."""

    exited: bool
    exit_code: int | None
    signal: int | None
    cpu: float
    maxrss_kb: int
    timed_out: bool
    wall: float
    leftovers: int
    stale: bool
    compiled: NotRequired[bool]
    """With ``compile_first``: whether the child compiled the program (no user code ran before)."""


Request = SetupRequest | RunRequest | QuitRequest
"""Anything the driver sends the fork server."""


class ZygoteLoad(TypedDict):
    """Agent → zygote (PID 1), once: the fork server's code (``forkclient.SERVER_CODE``)."""

    op: Literal["load"]
    code: bytes


class ZygoteFork(TypedDict):
    """Agent → zygote: fork a fork server (its socket and stderr attached, SCM_RIGHTS)."""

    op: Literal["fork"]
    env: dict[str, str]
    cwd: str
    argv: list[str]


class ZygoteReply(TypedDict):
    """Zygote → agent: done (a fork: its pid, and a pidfd attached), or refused and why."""

    ok: bool
    pid: NotRequired[int]
    why: NotRequired[str]


class CaptureWire(TypedDict):
    """A bounded view of one output stream (``sandbox.Capture.from_wire``)."""

    head: str
    tail: str
    size: int
    truncated: bool


class Outcome(TypedDict):
    """How one test went, as the verdict code builds it field by field (``sandbox.TestOutcome.from_wire``).

    A test that never ran (a compile error, a crash of the runtime) has its verdict and message only."""

    verdict: str
    message: str
    name: NotRequired[str]
    cpu: NotRequired[float]
    wall: NotRequired[float]
    memory_kb: NotRequired[int]
    exit_code: NotRequired[int | None]
    signal: NotRequired[int | None]
    stdout: NotRequired[CaptureWire]
    stderr: NotRequired[CaptureWire]
    digest: NotRequired[str]
    """The normalised output's hash (behaviour clustering compares it)."""
    result: NotRequired[CaptureWire]
    """A call test's answer (its ``repr``), from the result channel."""


class TestEvent(Outcome):
    """Driver → host: one test's outcome."""

    event: Literal["test"]


class ExecReport(TypedDict):
    """How a plain command ended."""

    exit_code: int | None
    signal: int | None
    timed_out: bool
    wall: float
    stdout: CaptureWire
    stderr: CaptureWire
    message: str


class ExecEvent(ExecReport):
    """Driver → host: a plain command's report, with the files it was asked to collect (base64)."""

    event: Literal["exec"]
    files: dict[str, str]


class HelloEvent(TypedDict):
    """Driver → host: the fork server is up, isolating tests so."""

    event: Literal["hello"]
    isolation: str
    origin: NotRequired[Literal["zygote", "exec"]]
    """Whether the container's zygote forked the fork server, or it is a new interpreter."""


class ErrorEvent(TypedDict):
    """Driver → host: the runtime itself failed."""

    event: Literal["error"]
    message: str


class MarkEvent(TypedDict):
    """Driver → host: ``tests`` (tests are about to run), ``done`` (the batch is over),
    ``yielded`` (it stopped early, as the host asked: the tests not reported did not run), or
    the agent's ``ready``."""

    event: Literal["tests", "done", "ready", "yielded"]


Event = TestEvent | ExecEvent | HelloEvent | ErrorEvent | MarkEvent
"""One JSON line of the driver; it goes out with the batch nonce added (``events.write_event``)."""

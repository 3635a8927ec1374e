"""Hot-path values of the sandbox: programs, tests, limits, verdicts and outcomes.

These are frozen dataclasses (cheap, hashable, immutable); configuration and
persisted records elsewhere are pydantic models.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from sandbox.errors import InvalidRequest

if TYPE_CHECKING:  # the messages' shapes, shared with the driver (see sandbox.runtime.wire)
    from sandbox.runtime.wire import CaptureWire, CheckerWire, LimitsWire, Outcome, TestWire


class Verdict(enum.StrEnum):
    """Outcome class of one test. SE is an infrastructure fault, never the program's."""

    AC = "AC"
    WA = "WA"
    TLE = "TLE"
    MLE = "MLE"
    OLE = "OLE"
    RE = "RE"
    CE = "CE"
    SE = "SE"

    @property
    def is_program_fault(self) -> bool:
        """True for verdicts that blame the candidate (everything but AC and SE)."""
        return self not in (Verdict.AC, Verdict.SE)


@dataclass(frozen=True)
class Limits:
    """Resource limits applied to every test of a batch (and to plain commands).

    ``wall_seconds`` defaults to three times the CPU limit plus one second, so a
    program that sleeps is stopped soon after one that spins would be.
    """

    cpu_seconds: float = 2.0
    wall_seconds: float | None = None
    memory_mb: int = 256
    output_bytes: int = 16 * 1024 * 1024
    processes: int = 64
    file_bytes: int = 16 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.cpu_seconds <= 0 or (self.wall_seconds is not None and self.wall_seconds <= 0):
            raise InvalidRequest(f"time limits must be positive, got cpu={self.cpu_seconds} wall={self.wall_seconds}")
        if self.memory_mb < 16 or self.output_bytes < 1 or self.processes < 1 or self.file_bytes < 0:
            raise InvalidRequest(f"limits out of range: {self}")

    @property
    def wall(self) -> float:
        """Effective wall-clock limit in seconds."""
        return self.wall_seconds if self.wall_seconds is not None else self.cpu_seconds * 3 + 1

    def to_wire(self) -> LimitsWire:
        """The JSON form the in-container driver reads."""
        return {
            "cpu": self.cpu_seconds,
            "wall": self.wall,
            "memory_mb": self.memory_mb,
            "output": self.output_bytes,
            "procs": self.processes,
            "fsize": self.file_bytes,
        }


@dataclass(frozen=True)
class Program:
    """A candidate program: its language, its source files and which file is the entry.

    ``function`` makes the program call-based: the module is imported (run
    under the name ``solution``, not ``__main__``, so a demo block stays quiet),
    then ``function`` (``name`` or ``Class.method``; a class is instantiated
    with no arguments) is called with each test's ``call_args``, and the
    ``repr`` of its result travels on a result channel of its own: what the
    program prints is captured output, never part of the answer.
    """

    language: str
    files: tuple[tuple[str, str], ...]
    entry: str
    function: str | None = None

    def __post_init__(self) -> None:
        names = [name for name, _ in self.files]
        if self.entry not in names:
            raise InvalidRequest(f"entry file {self.entry!r} is not among the program files {names}")
        for name in names:
            if name.startswith("/") or ".." in name.split("/") or not name:
                raise InvalidRequest(f"program file name {name!r} must be a relative path inside the work dir")

    @classmethod
    def single(cls, language: str, source: str, function: str | None = None) -> Program:
        """A one-file program with the language's conventional file name."""
        from sandbox.languages import get_language

        name = get_language(language).source_name
        return cls(language=language, files=((name, source),), entry=name, function=function)

    @property
    def source(self) -> str:
        """Text of the entry file."""
        return dict(self.files)[self.entry]


@dataclass(frozen=True)
class TestCase:
    """One test: stdin (or call arguments) and, when known, the expected output.

    ``expected=None`` means "run and report the output, check nothing"; that is
    how synthesized inputs are run. ``call_args`` is a Python literal of the
    argument list (``"[1, [2, 3]]"``) for call-based programs. ``check`` is
    Python source (a dataset's ``check`` function and its call, asserts...)
    run beside the program, in a process of its own, reaching the module's
    names across the two (Python only: ``sandbox/runtime/crossing.py``); the
    test passes when it completes, as told on the result channel, whatever
    the program prints.
    """

    __test__ = False  # not a pytest class

    stdin: str = ""
    expected: str | None = None
    name: str = ""
    call_args: str | None = None
    check: str | None = None

    def to_wire(self, index: int) -> TestWire:
        """The JSON form the in-container driver reads."""
        return {
            "name": self.name or str(index),
            "stdin": self.stdin,
            "expected": self.expected,
            "call": self.call_args,
            "check": self.check,
        }


CheckerKind = Literal["tokens", "exact", "float", "unordered", "value", "program"]


@dataclass(frozen=True)
class CheckerSpec:
    """How an output is compared with the expected one. Strict tokens by default.

    * ``tokens``: whitespace-separated tokens, line by line; trailing spaces and
      the final newline ignored, blank trailing lines ignored, case kept.
    * ``exact``: byte-for-byte.
    * ``float``: like tokens, but tokens that both parse as finite numbers (as C's
      ``strtod``: ASCII only) match within ``abs_tol``, or ``rel_tol`` of the expected
      value; integers compare exactly; NaN never matches.
    * ``unordered``: the multiset of lines (each compared as tokens) must match.
    * ``value``: both sides are Python literals compared structurally (lists and
      tuples alike, floats with the tolerances); for call-based programs.
    * ``program``: a checker program, run in the sandbox with the input, the
      expected output and the actual output; ``protocol`` says how it answers.
      With ``kattis_interactive`` it is an interactor: it runs beside the
      program, connected to its stdin and stdout, and its verdict decides.
    """

    kind: CheckerKind = "tokens"
    abs_tol: float = 0.0
    rel_tol: float = 0.0
    program: Program | None = None
    protocol: Literal["testlib", "kattis", "kattis_interactive"] = "testlib"

    def __post_init__(self) -> None:
        if self.abs_tol < 0 or self.rel_tol < 0:
            raise InvalidRequest("checker tolerances must be >= 0")
        if (self.kind == "program") != (self.program is not None):
            raise InvalidRequest("a checker program is given exactly when kind='program'")

    def to_wire(self) -> CheckerWire:
        """The JSON form the in-container driver reads (the program travels separately)."""
        return {"kind": self.kind, "abs_tol": self.abs_tol, "rel_tol": self.rel_tol, "protocol": self.protocol}


@dataclass(frozen=True)
class Capture:
    """A bounded view of one output stream: head and tail, and whether bytes were cut."""

    head: str = ""
    tail: str = ""
    size: int = 0
    truncated: bool = False

    @property
    def text(self) -> str:
        """Head and tail joined with a marker where bytes were cut."""
        if not self.truncated:
            return self.head + self.tail
        return f"{self.head}\n…[{self.size} bytes in all, middle cut]…\n{self.tail}"

    @classmethod
    def from_wire(cls, data: CaptureWire) -> Capture:
        """Build from the driver's JSON."""
        return cls(head=data["head"], tail=data["tail"], size=data["size"], truncated=data["truncated"])


@dataclass(frozen=True)
class TestOutcome:
    """What happened when one test ran.

    ``output_digest`` hashes the stdout normalised as the token checker sees it,
    so that two programs whose outputs the default checker cannot tell apart get
    the same digest (that is what behaviour clustering compares).
    """

    __test__ = False

    name: str
    verdict: Verdict
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    memory_kb: int = 0
    exit_code: int | None = None
    signal: int | None = None
    stdout: Capture = field(default_factory=Capture)
    stderr: Capture = field(default_factory=Capture)
    message: str = ""
    output_digest: str = ""
    result: Capture | None = None
    """A call test's answer (the ``repr`` of the result), from the result channel; ``stdout``
    is then only what the program printed."""

    @property
    def answer(self) -> Capture:
        """What the checker compared: a call's result if there is one, else stdout."""
        return self.result if self.result is not None else self.stdout

    @classmethod
    def from_wire(cls, data: Outcome) -> TestOutcome:
        """Build from one JSON line of the driver."""
        return cls(
            name=str(data["name"]),
            verdict=Verdict(data["verdict"]),
            cpu_seconds=float(data.get("cpu", 0.0)),
            wall_seconds=float(data.get("wall", 0.0)),
            memory_kb=int(data.get("memory_kb", 0)),
            exit_code=data.get("exit_code"),
            signal=data.get("signal"),
            stdout=Capture.from_wire(data["stdout"]) if "stdout" in data else Capture(),
            stderr=Capture.from_wire(data["stderr"]) if "stderr" in data else Capture(),
            message=str(data.get("message", "")),
            output_digest=str(data.get("digest", "")),
            result=Capture.from_wire(data["result"]) if data.get("result") else None,
        )

    @classmethod
    def system_error(cls, name: str, message: str) -> TestOutcome:
        """An SE outcome: the infrastructure failed, the program is not to blame."""
        return cls(name=name, verdict=Verdict.SE, message=message)


@dataclass(frozen=True)
class ExecResult:
    """Result of a plain command run in the sandbox (repo mode: pytest and friends)."""

    exit_code: int | None
    stdout: Capture
    stderr: Capture
    wall_seconds: float
    timed_out: bool = False
    signal: int | None = None
    files: Mapping[str, bytes] = field(default_factory=dict)
    message: str = ""

    @property
    def ok(self) -> bool:
        """True when the command exited 0 in time."""
        return self.exit_code == 0 and not self.timed_out

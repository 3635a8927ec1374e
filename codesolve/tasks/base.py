"""The seam between the S* engine and a kind of work: the ``Task`` protocol.

It lives in the tasks layer (which the engine imports, never the reverse).

The engine never knows whether it is solving a stdin problem, a call-based
function or a repository fix: it asks the task for prompts, hands it
completions, and gets back execution reports and behaviours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from codesolve.llm import Message


@dataclass(frozen=True)
class TestReport:
    """What running a candidate on the public tests showed."""

    __test__ = False

    passed: int
    total: int
    verdicts: tuple[str, ...]
    feedback: str
    """Compact, real feedback for the debugger (empty when everything passed)."""
    infra_error: bool = False
    """True when the sandbox failed (SE): the candidate is not to blame."""
    has_program: bool = True
    """False when the reply held no usable program (nothing was run)."""

    @property
    def all_passed(self) -> bool:
        """True when a program ran and passed every public test (vacuously, with none)."""
        return self.has_program and self.passed == self.total and not self.infra_error


@dataclass(frozen=True)
class Behaviour:
    """What a candidate did on one synthesized input: comparable and showable."""

    signature: str
    """Equal signatures mean indistinguishable behaviour (``AC:<digest>`` or a fault verdict)."""
    shown: str
    """The real output (or fault) as shown to the judge, truncated."""
    ran_cleanly: bool


@dataclass(frozen=True)
class SynthInput:
    """One input to tell candidates apart: literal text, or made by a generator program."""

    text: str
    origin: str = "literal"


@dataclass(frozen=True)
class Evidence:
    """One input two candidates ran on, and what each did: what a judge is shown."""

    input: SynthInput
    a: Behaviour
    b: Behaviour

    def swapped(self) -> Evidence:
        """The same run with the programs' places exchanged (the judge is asked in both orders)."""
        return Evidence(self.input, self.b, self.a)


@dataclass(frozen=True)
class WrittenTest:
    """A model-written test: an input and the output the model expects (CodeT's test cases)."""

    __test__ = False

    input: SynthInput
    expected: str


@dataclass(frozen=True)
class DebugTurn:
    """One round of debugging: the code that was run and what the tests said."""

    code: str
    report: TestReport


def recent_rounds(history: Sequence[DebugTurn], max_chars: int) -> list[DebugTurn]:
    """The latest debugging rounds whose code and feedback fit in ``max_chars`` (at least one):
    every task's debug prompt keeps the newest attempts and drops the oldest."""
    kept = list(history)
    while len(kept) > 1 and sum(len(t.code) + len(t.report.feedback) for t in kept) > max_chars:
        kept.pop(0)
    return kept


@dataclass(frozen=True)
class Extracted:
    """Code pulled out of a completion, or why none could be."""

    code: str | None
    problem: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)


class Task(Protocol):
    """One unit of work the engine can drive (see :mod:`codesolve.tasks`)."""

    @property
    def task_id(self) -> str:
        """Stable identifier (problem id)."""
        ...

    @property
    def public_count(self) -> int:
        """Number of public tests the candidate is run on."""
        ...

    def generation_messages(self) -> list[Message]:
        """Prompt for a fresh candidate."""
        ...

    def extract(self, completion: str) -> Extracted:
        """The candidate code in a completion (last fenced block of the right language)."""
        ...

    @property
    def extract_scans(self) -> bool:
        """Whether :meth:`extract` is a scan of the reply alone (no file read, no parse lock): the
        engine then extracts from a small reply on the event loop (:func:`codesolve.llm.parse_reply`)."""
        ...

    def debug_messages(self, history: Sequence[DebugTurn]) -> list[Message]:
        """Prompt to fix the latest code given every round so far (oldest dropped past a cap)."""
        ...

    async def prepare(self) -> None:
        """Get the sandbox ready (containers started) while the first model call is in flight."""
        ...

    async def run_public(self, code: str) -> TestReport:
        """Run a candidate on the public tests in the sandbox."""
        ...

    def synthesis_messages(self, codes: Sequence[str], count: int) -> list[Message]:
        """Prompt for inputs that may make the candidates disagree."""
        ...

    async def parse_inputs(self, completion: str, limit: int) -> list[SynthInput]:
        """Inputs in a completion; generator programs are run in the sandbox to make theirs."""
        ...

    async def behaviours(self, code: str, inputs: Sequence[SynthInput]) -> list[Behaviour]:
        """Run a candidate on each input and describe what it did."""
        ...

    def normal_form(self, code: str) -> str | None:
        """What the candidate changes, normalised, for the ``majority`` vote without running anything
        (equal forms: the same change); ``None`` when the task has no such form (behaviour clusters vote)."""
        ...

    def synthetic_inputs(self, count: int, seed: int) -> list[SynthInput]:
        """Inputs made without a model (from the signature, the examples, the public inputs); deterministic
        once :meth:`prepare` is done (they may use what it gathered). Called in a worker thread."""
        ...

    def test_messages(self, codes: Sequence[str], count: int) -> list[Message]:
        """Prompt for test cases WITH expected outputs (the input of dual execution agreement)."""
        ...

    async def parse_tests(self, completion: str, limit: int) -> list[WrittenTest]:
        """The test cases in a completion."""
        ...

    async def passes(self, code: str, tests: Sequence[WrittenTest]) -> list[bool]:
        """Whether a candidate's output on each test is what the test expects (by the problem's checker)."""
        ...

    async def accept_validator(self, completion: str) -> str | None:
        """A trusted output validator from a synthesizer's reply, or ``None`` (none given, or it
        failed its trial on the public tests); see :mod:`codesolve.tasks.validator`."""
        ...

    async def validate(self, validator: str, cases: Sequence[tuple[SynthInput, Behaviour]]) -> list[bool | None]:
        """Whether ``validator`` accepts each clean output on its input (``None``: undecided, e.g. it crashed)."""
        ...

    def distinguish_messages(self, code_a: str, code_b: str) -> list[Message]:
        """Ask the judge for one input on which two candidates would differ."""
        ...

    def judge_messages(self, code_a: str, code_b: str, evidence: Sequence[Evidence]) -> list[Message]:
        """Ask the judge which of two candidates is right, shown their REAL outputs."""
        ...

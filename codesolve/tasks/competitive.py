"""Competitive problems (stdin/stdout and call-based) as an engine :class:`Task`."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import anyio
import anyio.to_thread

from codesolve.errors import UsageError
from codesolve.llm import Message, parse_reply
from codesolve.tasks import prompts, pyparse
from codesolve.tasks.base import Behaviour, DebugTurn, Evidence, Extracted, SynthInput, TestReport, WrittenTest
from codesolve.tasks.extract import extract_code, fenced_blocks
from codesolve.tasks.feedback import render
from codesolve.tasks.literals import LiteralError, parse_value, to_literal
from codesolve.tasks.loaders._python import assert_example
from codesolve.tasks.models import ProblemCore, PublicProblem
from codesolve.tasks.signatures import SHOWN_CHARS, behaviour_of
from codesolve.tasks.synth_call import call_inputs
from codesolve.tasks.synth_stdin import stdin_inputs
from codesolve.tasks.validator import (
    VALIDATOR_LIMITS,
    call_args,
    program_source,
    read_verdicts,
    trial_cases,
    trial_passed,
    validator_code,
)
from sandbox import CheckerSpec, Limits, Program, Sandbox, TestCase, TestOutcome, Verdict

GENERATOR_LIMITS = Limits(cpu_seconds=5, memory_mb=256, output_bytes=8 << 20)
"""Input generators written by the synthesizer. 256 MiB keeps them in the same container shape as
the problems' own batches (up to ~490 MiB): another shape would evict a warm container."""


def checker_for(problem: ProblemCore) -> CheckerSpec:
    """The problem's checker; call problems compare values; a missing checker program is an error."""
    try:
        spec = problem.checker.to_spec()
    except ValueError as exc:
        raise UsageError(f"problem {problem.id}: {exc}") from exc
    if problem.input_mode == "call" and spec.kind == "tokens":
        return CheckerSpec(kind="value")
    return spec


def limits_for(problem: ProblemCore) -> Limits:
    """Per-test limits from the problem."""
    return Limits(cpu_seconds=problem.time_limit_s, memory_mb=max(problem.memory_mb, 64))


CHECK_TIME_FACTOR = 5
CHECK_MIN_SECONDS = 10.0


def check_limits(problem: ProblemCore) -> Limits:
    """Limits of a dataset ``check`` test: it runs many cases in one process, so the time
    limit of one test is too tight (LeetCode's checks run ~100 cases)."""
    cpu = max(problem.time_limit_s * CHECK_TIME_FACTOR, CHECK_MIN_SECONDS)
    return Limits(cpu_seconds=cpu, memory_mb=max(problem.memory_mb, 64))


@dataclass
class CompetitiveTask:
    """Drives one problem through the engine, in Python or (stdin problems) C++.

    It holds the solver's view only (:class:`PublicProblem`: no hidden tests, no reference
    solutions), so no prompt, trace or cache entry can carry what evaluation keeps back.
    """

    problem: PublicProblem
    sandbox: Sandbox
    history_chars: int = 24_000
    lang: str = "python"
    """The language candidates are written in: ``python`` or ``cpp`` (stdin problems only)."""

    def __post_init__(self) -> None:
        if self.lang not in ("python", "cpp"):
            raise UsageError(f"unknown solution language {self.lang!r} (python or cpp)")
        if self.lang == "cpp" and (self.problem.input_mode == "call" or self.problem.check_code):
            raise UsageError(f"problem {self.problem.id}: C++ solving is for stdin problems; this one is call-based")
        self.limits = limits_for(self.problem)
        self.checker = checker_for(self.problem)
        self.public = self.problem.io_tests()
        self.public_checks = [t for t in self.problem.public_tests if t.kind == "check"]

    @property
    def task_id(self) -> str:
        """The problem id."""
        return self.problem.id

    @property
    def public_count(self) -> int:
        """Public io tests plus public check tests."""
        return len(self.public) + len(self.public_checks)

    def generation_messages(self) -> list[Message]:
        """See :class:`codesolve.tasks.base.Task`."""
        return prompts.generation(self.problem, self.lang)

    @property
    def extract_scans(self) -> bool:
        """See :class:`codesolve.tasks.base.Task`: a fence scan."""
        return True

    def extract(self, completion: str) -> Extracted:
        """See :class:`codesolve.tasks.base.Task`."""
        name = (self.problem.function_name or "").partition(".")[0] or None
        return extract_code(completion, self.lang, name)

    def debug_messages(self, history: Sequence[DebugTurn]) -> list[Message]:
        """See :class:`codesolve.tasks.base.Task`."""
        return prompts.debug(self.problem, history, self.history_chars, self.lang)

    def program(self, code: str) -> Program:
        """The sandbox program of a candidate (the problem's prelude included)."""
        return self.problem.program(code, self.lang)

    async def prepare(self) -> None:
        """See :class:`Task`."""
        await self.sandbox.warm(self.limits)

    async def run_public(self, code: str) -> TestReport:
        """Public io tests (and public check tests, if any) in the sandbox."""
        outcomes = (
            await self.sandbox.run_tests(self.program(code), self.public, self.limits, self.checker)
            if self.public
            else []
        )
        tests = list(self.public)
        for spec in self.public_checks:
            harness, test = check_test(self.problem, code, spec.name)
            outcomes += await self.sandbox.run_tests(harness, [test], check_limits(self.problem))
            tests.append(test)
        return report_of(tests, outcomes, self.limits)

    def synthesis_messages(self, codes: Sequence[str], count: int) -> list[Message]:
        """See :class:`codesolve.tasks.base.Task`."""
        return prompts.synthesis(self.problem, codes, count)

    def normal_form(self, code: str) -> str | None:  # noqa: ARG002 - the Task protocol
        """None: programs vote by what they print (behaviour clusters)."""
        return None

    def synthetic_inputs(self, count: int, seed: int) -> list[SynthInput]:
        """Call problems: shapes from the signature and the examples' literals; stdin: mutated public inputs."""
        key = f"{seed}:{self.problem.id}"
        if self.problem.input_mode == "call":
            literals = [t.call_args for t in self.problem.public_tests if t.call_args is not None]
            made = call_inputs(self.problem.signature, literals, count, key)
        else:
            made = stdin_inputs([t.stdin for t in self.problem.public_tests if t.kind == "io"], count, key)
        return [SynthInput(text, origin="hypothesis") for text in made]

    async def parse_inputs(self, completion: str, limit: int) -> list[SynthInput]:
        """Literal ``input`` blocks, plus the output of ``generator`` programs run in the sandbox."""
        # Parsing endpoint text is CPU work: a large reply's in a worker thread, so that deadlines
        # and Ctrl-C act at once (see codesolve.llm.parse_reply).
        blocks = await parse_reply(len(completion), fenced_blocks, completion)
        found = [SynthInput(b.body) for b in blocks if b.tag == "input"]
        for source in [b.body for b in blocks if b.tag == "generator"][: max(0, limit - len(found))]:
            [outcome] = await self.sandbox.run_tests(Program.single("python", source), [TestCase()], GENERATOR_LIMITS)
            if outcome.verdict is Verdict.AC and not outcome.stdout.truncated:
                found.append(SynthInput(outcome.stdout.text, origin="generator"))
        valid = (
            await anyio.to_thread.run_sync(self._valid_inputs, found, abandon_on_cancel=True)
            if self.problem.input_mode == "call"  # (literals are parsed under pyparse's lock)
            else await parse_reply(sum(len(i.text) for i in found), self._valid_inputs, found)
        )
        return valid[:limit]

    def _valid_inputs(self, found: list[SynthInput]) -> list[SynthInput]:
        return [i for i in found if self.valid_input(i.text)]

    def valid_input(self, text: str) -> bool:
        """Call inputs must be list literals; stdin inputs must be non-empty."""
        if self.problem.input_mode != "call":
            return bool(text.strip())
        try:
            return isinstance(pyparse.literal(text.strip()), list)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return False

    def as_test(self, index: int, item: SynthInput, expected: str | None = None) -> TestCase:
        """A test case for a synthesized input (check-free unless ``expected`` is given)."""
        if self.problem.input_mode == "call":
            return TestCase(name=f"s{index}", call_args=item.text.strip(), expected=expected)
        text = item.text if item.text.endswith("\n") else item.text + "\n"
        return TestCase(name=f"s{index}", stdin=text, expected=expected)

    async def behaviours(self, code: str, inputs: Sequence[SynthInput]) -> list[Behaviour]:
        """Run once per input (one batch) and describe each run as the checker would compare it.

        A checker program is asked about each output with an empty reference:
        outputs it accepts on their own are one behaviour (many answers can be right).
        """
        validate = self.checker.kind == "program" and self.checker.protocol != "kattis_interactive"
        expected = "" if validate else None
        tests = [self.as_test(i, item, expected) for i, item in enumerate(inputs)]
        outcomes = await self.sandbox.run_tests(self.program(code), tests, self.limits, self.checker)
        return [behaviour_of(o, self.checker, validated=validate) for o in outcomes]

    async def accept_validator(self, completion: str) -> str | None:
        """The reply's ```validator block, if it accepts every public expected output and
        rejects most corrupted ones (run in the sandbox: it is untrusted code)."""
        code = await anyio.to_thread.run_sync(validator_code, completion, abandon_on_cancel=True)
        if code is None:
            return None
        call = self.problem.input_mode == "call"
        public = [
            (given, expected)
            for t in self.public
            if (given := self._given(t)) and (expected := self._literal(t.expected or "") if call else t.expected)
        ]
        cases, count = trial_cases(public, call)
        return code if trial_passed(await self._run_validator(code, cases), count) else None

    async def validate(self, validator: str, cases: Sequence[tuple[SynthInput, Behaviour]]) -> list[bool | None]:
        """Run the validator on each clean, uncut output (one sandbox test); the rest are undecided."""
        pairs: list[tuple[str, str]] = []
        where: list[int] = []
        for n, (item, seen) in enumerate(cases):
            given = self._given(self.as_test(n, item))
            if given and seen.ran_cleanly and len(seen.shown) <= SHOWN_CHARS:
                pairs.append((given, seen.shown))
                where.append(n)
        verdicts: list[bool | None] = [None] * len(cases)
        for n, verdict in zip(where, await self._run_validator(validator, pairs), strict=True):
            verdicts[n] = verdict
        return verdicts

    def _given(self, test: TestCase) -> str | None:
        """A test's input as the validator's harness reads it (call arguments as a Python literal)."""
        return self._literal(test.call_args or "") if self.problem.input_mode == "call" else test.stdin

    @staticmethod
    def _literal(text: str) -> str | None:
        # Datasets write JSON-ish literals (true, null); the harness reads Python's.
        try:
            return to_literal(parse_value(text))
        except LiteralError:
            return None

    async def _run_validator(self, code: str, cases: Sequence[tuple[str, str]]) -> list[bool | None]:
        if not cases:
            return []
        source, entry = program_source(code)
        test = TestCase(name="validate", call_args=call_args(cases, self.problem.input_mode == "call"))
        program = Program.single("python", source, function=entry)
        [outcome] = await self.sandbox.run_tests(program, [test], VALIDATOR_LIMITS, CheckerSpec(kind="value"))
        if outcome.verdict is not Verdict.AC or outcome.answer.truncated:
            return [None] * len(cases)
        return read_verdicts(outcome.answer.text, len(cases))

    def test_messages(self, codes: Sequence[str], count: int) -> list[Message]:
        """See :class:`codesolve.tasks.base.Task`."""
        return prompts.tests(self.problem, codes, count)

    async def parse_tests(self, completion: str, limit: int) -> list[WrittenTest]:
        """``assert f(...) == v`` lines (call problems) or ``input``/``output`` block pairs (stdin)."""
        entry = (self.problem.function_name or "").rpartition(".")[2]
        found = await anyio.to_thread.run_sync(written_tests, completion, entry, abandon_on_cancel=True)
        return found[:limit]

    async def passes(self, code: str, tests: Sequence[WrittenTest]) -> list[bool]:
        """Run a candidate on the written tests, checked against their expected outputs."""
        if not tests:
            return []
        cases = [self.as_test(i, t.input, t.expected) for i, t in enumerate(tests)]
        outcomes = await self.sandbox.run_tests(self.program(code), cases, self.limits, self.checker)
        return [o.verdict is Verdict.AC for o in outcomes]

    def distinguish_messages(self, code_a: str, code_b: str) -> list[Message]:
        """See :class:`codesolve.tasks.base.Task`."""
        return prompts.distinguish(self.problem, code_a, code_b)

    def judge_messages(self, code_a: str, code_b: str, evidence: Sequence[Evidence]) -> list[Message]:
        """See :class:`codesolve.tasks.base.Task`."""
        return prompts.judge(self.problem, code_a, code_b, evidence)


def written_tests(completion: str, entry: str) -> list[WrittenTest]:
    """Model-written tests in a reply: assert lines calling ``entry``, else input/output block pairs."""
    found: list[WrittenTest] = []
    if entry:
        for line in completion.splitlines():
            example = assert_example(line, entry) if line.lstrip().startswith("assert") else None
            if example is not None:
                found.append(WrittenTest(SynthInput(example.call_args, origin="model"), example.expected))
        return found
    blocks = fenced_blocks(completion)
    for first, second in itertools.pairwise(blocks):
        if first.tag == "input" and second.tag == "output":
            found.append(WrittenTest(SynthInput(first.body, origin="model"), second.body))
    return found


def check_test(problem: ProblemCore, code: str, name: str) -> tuple[Program, TestCase]:
    """A dataset ``check`` test: the candidate's program, and a sandbox test whose ``check``
    is the dataset's check code and its call.

    The sandbox runs the module under a name other than ``__main__`` (as the
    datasets' own harnesses do) in a process of its own, and the check beside it,
    reaching the module's names across the two (``sandbox/runtime/crossing.py``);
    the pass travels on a result channel the program never holds, so neither what
    it prints, nor an early exit, nor an object equal to everything decides it.
    """
    return problem.program(code), TestCase(name=name, check=problem.check_source())


def report_of(tests: Sequence[TestCase], outcomes: Sequence[TestOutcome], limits: Limits) -> TestReport:
    """Summarise outcomes as a report with rendered feedback."""
    verdicts = tuple(o.verdict.value for o in outcomes)
    passed = sum(1 for o in outcomes if o.verdict is Verdict.AC)
    infra = any(o.verdict is Verdict.SE for o in outcomes)
    return TestReport(
        passed=passed, total=len(tests), verdicts=verdicts, feedback=render(tests, outcomes, limits), infra_error=infra
    )

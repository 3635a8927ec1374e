"""Problem models: the persisted form of every kind of work codesolve takes on.

Three kinds, told apart by ``kind`` (the discriminator of :data:`Problem`):

* :class:`CompetitiveProblem`: a statement plus tests, answered by a program
  that reads stdin (``input_mode="stdin"``) or defines a function
  (``input_mode="call"``).
* :class:`FunctionFixTask`: a local repository whose failing tests a patch
  must make pass.
* :class:`SweInstance`: one SWE-bench instance.

Tests come in two flavours (:attr:`TestSpec.kind`):

* ``io``: stdin or call arguments with an expected output (``None`` when the
  expected output must first be computed by running the reference solution,
  as with EvalPlus inputs); it converts to a :class:`sandbox.TestCase`.
* ``check``: "run the problem's ``check_code`` against the candidate". The
  judge runs the candidate's module (not as ``__main__``) with
  :meth:`CompetitiveProblem.check_source` as the sandbox test's ``check``:
  the test passes when the check completes, told on the sandbox's result
  channel, whatever the candidate prints. ``check_function`` names the function to call (``check`` unless
  the candidate itself may define a ``check``, as some MBPP problems do).
  This keeps datasets' own assert-based tests (HumanEval ``check``, MBPP
  asserts, LeetCode ``check``) with their exact semantics.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from codesolve.tasks._model import FrozenModel, InvalidField
from codesolve.tasks.reference import ReferenceSolution, TimeLimitRule
from sandbox import CheckerKind, CheckerSpec, Limits, Program, TestCase


class TestSpec(FrozenModel):
    """One persisted test: stdin or call arguments, and the expected output when known."""

    __test__ = False  # not a pytest class

    name: str = Field(min_length=1)
    """Unique within the problem; shown in verdicts and feedback."""
    stdin: str = ""
    """Standard input (stdin problems)."""
    call_args: str | None = None
    """Python literal of the positional argument list, e.g. ``"[[2, 7, 11, 15], 9]"`` (call problems)."""
    expected: str | None = None
    """Expected stdout, or a Python literal of the return value; ``None``: compute it from the reference."""
    group: str = ""
    """Where the test came from: ``sample``, ``secret/subtask1``, ``base``, ``plus``, ``check``…"""
    kind: Literal["io", "check"] = "io"
    """``io``: run with this input and compare; ``check``: run the problem's ``check_code`` harness."""

    @model_validator(mode="after")
    def _consistent(self) -> TestSpec:
        if self.kind == "check" and (self.stdin or self.call_args is not None or self.expected is not None):
            raise InvalidField("kind", "a check test carries no stdin, call_args or expected")
        return self

    def to_test_case(self) -> TestCase:
        """The sandbox form. Check tests have none: see :meth:`CompetitiveProblem.check_source`."""
        if self.kind == "check":
            raise ValueError(f"test {self.name!r} is a check test; run the problem's check_source instead")
        return TestCase(stdin=self.stdin, expected=self.expected, name=self.name, call_args=self.call_args)


class CheckerConfig(FrozenModel):
    """How outputs are compared (persisted form of :class:`sandbox.CheckerSpec`)."""

    kind: CheckerKind = "tokens"
    """``tokens`` (default, strict), ``exact``, ``float``, ``unordered``, ``value`` or ``program``."""
    abs_tol: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    """Absolute tolerance for ``float`` and ``value``."""
    rel_tol: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    """Relative tolerance for ``float`` and ``value``."""
    program: str | None = None
    """Source of the checker program (``kind="program"``); ``None`` there means the dataset lacks it."""
    language: str | None = None
    """Language of ``program``."""
    entry_name: str = ""
    """File name of ``program`` (empty: the language's conventional one)."""
    files: dict[str, str] = Field(default_factory=dict)
    """The checker's other files (headers, more sources), by path relative to ``program``'s folder."""
    protocol: Literal["testlib", "kattis", "kattis_interactive"] = "testlib"
    """How the checker program reports its verdict (``kattis_interactive``: it is an interactor)."""
    origin: str = ""
    """Where the checker program came from, or where it would be found when it is missing."""

    @model_validator(mode="after")
    def _consistent(self) -> CheckerConfig:
        if self.kind != "program" and self.program is not None:
            raise InvalidField("program", "a checker program is only allowed with kind='program'")
        if self.program is not None and not self.language:
            raise InvalidField("language", "a checker program needs its language")
        return self

    @property
    def missing(self) -> bool:
        """True when a checker program is needed but the dataset did not include it."""
        return self.kind == "program" and self.program is None

    def to_spec(self) -> CheckerSpec:
        """The sandbox form. Raises ``ValueError`` when the checker program is missing."""
        if self.missing:
            raise ValueError(f"checker program missing ({self.origin or 'not in the dataset'})")
        program = None
        if self.program is not None and self.language is not None:
            program = Program.single(self.language, self.program)
            if self.files or self.entry_name:
                entry = self.entry_name or program.entry
                program = Program(self.language, ((entry, self.program), *sorted(self.files.items())), entry)
        return CheckerSpec(
            kind=self.kind, abs_tol=self.abs_tol, rel_tol=self.rel_tol, program=program, protocol=self.protocol
        )


class ProblemCore(FrozenModel):
    """What every view of a competitive problem holds: the statement, the public tests and how a
    candidate runs. Its two forms are :class:`CompetitiveProblem` (the whole record) and
    :class:`PublicProblem` (the solver's view)."""

    kind: Literal["competitive"] = "competitive"
    """Discriminator."""
    id: str = Field(min_length=1)
    """Unique within a problem file."""
    title: str = ""
    """Short human-readable name."""
    statement: str = ""
    """The problem text shown to the model."""
    input_mode: Literal["stdin", "call"] = "stdin"
    """``stdin``: read input, print output. ``call``: define ``function_name``; tests pass ``call_args``."""
    function_name: str | None = None
    """``name`` or ``Class.method`` (the class is instantiated with no arguments). Call problems only."""
    signature: str | None = None
    """The ``def`` line the candidate must provide, when known."""
    starter_code: str = ""
    """Code the candidate should start from (call problems)."""
    prelude: str = ""
    """Python put before the candidate when it runs (imports and helpers the dataset assumes)."""
    check_code: str = ""
    """Python defining ``check_function(candidate)``; used by tests of kind ``check``."""
    check_function: str = Field(default="check", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    """Name of the function in ``check_code`` that takes the candidate and raises when it is wrong."""
    public_tests: list[TestSpec] = Field(default_factory=list)
    """Tests the solver may see (statement examples, samples)."""
    time_limit_s: float = Field(default=2.0, gt=0, allow_inf_nan=False)
    """CPU seconds per test."""
    memory_mb: int = Field(default=256, gt=0)
    """Memory limit per test."""
    checker: CheckerConfig = Field(default_factory=CheckerConfig)
    """How outputs are compared."""

    @model_validator(mode="after")
    def _consistent(self) -> ProblemCore:
        if self.input_mode == "call" and not self.function_name:
            raise InvalidField("function_name", "a call problem needs function_name")
        if self.input_mode == "stdin" and self.function_name:
            raise InvalidField("function_name", "a stdin problem has no function_name")
        self._check_tests(("public_tests",))
        return self

    def _check_tests(self, fields: tuple[str, ...]) -> None:
        names: set[str] = set()
        for field in fields:
            for index, test in enumerate(getattr(self, field)):
                where = f"{field}[{index}]"
                if test.name in names:
                    raise InvalidField(f"{where}.name", f"duplicate test name {test.name!r}")
                names.add(test.name)
                self._check_test(test, where)

    def _check_test(self, test: TestSpec, where: str) -> None:
        if test.kind == "check":
            if not self.check_code:
                raise InvalidField("check_code", f"{where} is a check test but check_code is empty")
            return
        if self.input_mode == "call":
            args = test.call_args
            if args is None or not (args.lstrip().startswith("[") and args.rstrip().endswith("]")):
                raise InvalidField(f"{where}.call_args", "a call test needs a Python list literal")
            if test.stdin:
                raise InvalidField(f"{where}.stdin", "a call test has no stdin")
        elif test.call_args is not None:
            raise InvalidField(f"{where}.call_args", "a stdin problem's test has no call_args")

    @property
    def checker_missing(self) -> bool:
        """True when the problem needs a checker program the dataset did not include."""
        return self.checker.missing

    @property
    def entry_expression(self) -> str | None:
        """Python expression naming the callable: ``name`` or ``Class().method``."""
        if self.function_name is None:
            return None
        cls, dot, method = self.function_name.partition(".")
        return f"{cls}().{method}" if dot else cls

    def check_harness(self, candidate: str) -> str:
        """One script holding ``candidate`` and :meth:`check_source` (to read, or to run by hand)."""
        return "\n\n".join(part for part in (self.prelude, candidate, self.check_source()) if part)

    def check_source(self) -> str:
        """``check_code`` and its call on the candidate: the sandbox runs it in the candidate's
        namespace (a :class:`TestCase` ``check``), and the test passes when it completes."""
        entry = self.entry_expression
        if not self.check_code or entry is None:
            raise ValueError(f"problem {self.id!r} has no check_code or no function to check")
        return f"{self.check_code}\n\n{self.check_function}({entry})\n"

    def program(self, source: str, language: str = "python") -> Program:
        """The sandbox program for a candidate ``source`` (prelude prepended for Python)."""
        if self.prelude and language == "python":
            source = f"{self.prelude}\n\n{source}"
        return Program.single(language, source, function=self.function_name)

    def limits(self) -> Limits:
        """Sandbox limits from the problem's time and memory limits."""
        return Limits(cpu_seconds=self.time_limit_s, memory_mb=self.memory_mb)


class PublicProblem(ProblemCore):
    """The solver's view of a problem: it has no hidden tests and no reference solutions, and it
    keeps ``check_code`` only when a public test runs it (a dataset's check is often the hidden
    test itself). The engine's task is built from this type, so nothing the solver does can
    reach what evaluation keeps back. Made by :meth:`CompetitiveProblem.public_view`."""

    def io_tests(self) -> list[TestCase]:
        """Sandbox test cases of the public io tests; check tests are left out."""
        return [t.to_test_case() for t in self.public_tests if t.kind == "io"]


class CompetitiveProblem(ProblemCore):
    """A problem answered by a whole program (stdin) or by one function (call): the whole record,
    hidden tests and reference solutions included. Only evaluation and the judge use it whole."""

    hidden_tests: list[TestSpec] = Field(default_factory=list)
    """Tests for evaluation only. Evaluate on public and hidden tests together."""
    time_limit_origin: str = ""
    """Where ``time_limit_s`` came from, when the loader knows (the judge says it)."""
    time_limit_rule: TimeLimitRule | None = None
    """Set when the package states no limit: the judge derives it from the accepted submissions."""
    source: str = ""
    """Dataset and record the problem came from."""
    licence: str = ""
    """Licence of the source data."""
    difficulty: str = ""
    """The dataset's own difficulty label, if any."""
    solutions: list[ReferenceSolution] = Field(default_factory=list)
    """The dataset's own solutions, labelled."""
    dropped_tests: int = Field(default=0, ge=0)
    """Source tests that could not be represented (e.g. a recorded output that is an error message)."""
    unparsed_examples: int = Field(default=0, ge=0)
    """Statement examples seen but not parseable into public tests."""

    @model_validator(mode="after")
    def _whole(self) -> CompetitiveProblem:
        if not self.public_tests and not self.hidden_tests:
            raise InvalidField("hidden_tests", "a problem needs at least one public or hidden test")
        self._check_tests(("public_tests", "hidden_tests"))
        return self

    @property
    def needs_reference_outputs(self) -> bool:
        """True when some io test has no expected output (to be computed from the reference)."""
        return any(t.kind == "io" and t.expected is None for t in (*self.public_tests, *self.hidden_tests))

    def io_tests(self, hidden: bool = False) -> list[TestCase]:
        """Sandbox test cases of the public (or hidden) io tests; check tests are left out."""
        tests = self.hidden_tests if hidden else self.public_tests
        return [t.to_test_case() for t in tests if t.kind == "io"]

    def public_view(self) -> PublicProblem:
        """What the solver may see (see :class:`PublicProblem`)."""
        fields = {name: getattr(self, name) for name in ProblemCore.model_fields}
        if not any(t.kind == "check" for t in self.public_tests):
            fields["check_code"] = ""
        return PublicProblem.model_validate(fields)


class FunctionFixTask(FrozenModel):
    """Make a local repository's failing tests pass by fixing code."""

    kind: Literal["function_fix"] = "function_fix"
    """Discriminator."""
    id: str = Field(min_length=1)
    """Unique within a problem file."""
    repo_path: str = Field(min_length=1)
    """The repository, as written (relative paths are relative to the problem file)."""
    failing_tests: list[str] = Field(min_length=1)
    """Test node ids that fail now and must pass after the fix."""
    passing_tests: list[str] = Field(default_factory=list)
    """Test node ids that pass now and must keep passing."""
    target_functions: list[str] = Field(default_factory=list)
    """Functions to fix (``module.path:qualname``), when known."""
    description: str = ""
    """What is wrong, in words (an issue text), if any."""
    test_command: list[str] = Field(default_factory=lambda: ["python", "-m", "pytest", "-q"], min_length=1)
    """Command run in the repository; failing test ids are appended."""
    environment_image: str | None = None
    """Container image with the repository's dependencies; ``None``: the default sandbox image."""
    time_limit_s: float = Field(default=120.0, gt=0, allow_inf_nan=False)
    """Wall-clock limit of one test-command run."""
    memory_mb: int = Field(default=2048, gt=0)
    """Memory limit of one test-command run."""
    source: str = ""
    """Where the task came from."""
    licence: str = ""
    """Licence of the repository."""


class SweInstance(FrozenModel):
    """One SWE-bench instance (the repository itself is obtained through ``repo_source``)."""

    kind: Literal["swe"] = "swe"
    """Discriminator."""
    instance_id: str = Field(min_length=1)
    """``owner__repo-number``."""
    repo: str = Field(min_length=1)
    """``owner/repo`` on GitHub."""
    base_commit: str = Field(min_length=1)
    """Commit the patch applies to."""
    problem_statement: str
    """The issue text."""
    FAIL_TO_PASS: list[str] = Field(min_length=1)
    """Tests that must go from failing to passing."""
    PASS_TO_PASS: list[str] = Field(default_factory=list)
    """Tests that must keep passing."""
    test_patch: str = ""
    """Patch adding the evaluation tests (applied at evaluation only)."""
    patch: str = ""
    """The gold patch: for evaluation and judge checks only, never shown to the solver."""
    version: str = ""
    """Package version, which selects the environment."""
    environment_setup_commit: str = ""
    """Commit used to build the environment."""
    hints_text: str = ""
    """Issue comments before the fix."""
    created_at: str = ""
    """Creation time of the pull request, as the dataset writes it."""
    repo_source: str = ""
    """How to obtain the repository locally: a path or a clone URL."""
    environment_image: str | None = None
    """Container image with the instance's environment, when one is available."""
    source: str = ""
    """Dataset the instance came from."""
    licence: str = ""
    """Licence of the dataset."""

    @property
    def id(self) -> str:
        """Same as ``instance_id`` (every problem kind has an ``id``)."""
        return self.instance_id


Problem = Annotated[CompetitiveProblem | FunctionFixTask | SweInstance, Field(discriminator="kind")]
"""Any problem, told apart by ``kind``."""

__all__ = [
    "CheckerConfig",
    "CompetitiveProblem",
    "FunctionFixTask",
    "InvalidField",
    "Problem",
    "ProblemCore",
    "PublicProblem",
    "ReferenceSolution",
    "SweInstance",
    "TestSpec",
    "TimeLimitRule",
]

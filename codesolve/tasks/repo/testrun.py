"""Running a repository's pytest tests in a sandbox copy, with results from JUnit XML.

The truth of a run is pytest's JUnit report read back from the sandbox and
cross-checked with pytest's exit code, never its stdout: a candidate can
print ``PASSED``. When the two disagree (exit 0 with failures in the report,
exit 1 with none) the report is not trusted and every test counts as failed.
A requested test absent from the report did not pass.

A file that fails to collect is known from the report (pytest records it as a
``collection failure`` error), never from what pytest prints. A baseline run
tolerates it (``tolerate_collection_errors``: the file is left out of the
regression set); any other run is not trusted when one shows up, so a
candidate that breaks a test file's import cannot pass on the other files.
"""

from __future__ import annotations

import json
import secrets
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codesolve.tasks.repo.junit import ReportError, TestResult, parse_report
from sandbox import ExecResult, Limits, Sandbox

RUNNER_DIR = ".codesolve"
BUDGET_SHARE = 0.75
"""The share of a run's CPU limit its tests' alarms may add up to (wall clock, which is never less
than one process's CPU): the rest is pytest's start, collection and report, so a run of hanging
tests ends with its report instead of being killed at the limit with none."""
_RUNNER_SOURCE = (Path(__file__).with_name("_runner.py")).read_bytes
EXIT_OK, EXIT_FAILED, EXIT_NO_TESTS = 0, 1, 5


@dataclass(frozen=True)
class TestRun:
    """What one pytest run in the sandbox showed."""

    __test__ = False

    results: Mapping[str, TestResult]
    """By node id, as the report has them (after the cross-check)."""
    exit_code: int | None
    infra_error: str = ""
    """Non-empty when the sandbox failed: no verdict on the code."""
    distrust: str = ""
    """Why the report was not believed (every test then counts as failed), or ""."""
    spectra: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Per node id: each repo function called (``path::qualname``) and its caller."""
    lines: Mapping[str, Mapping[str, frozenset[int]]] = field(default_factory=dict)
    """Per node id: the lines of each repo function its call ran."""
    output_tail: str = ""
    """The end of pytest's own output, for messages about runs that produced no report."""

    def passed(self, nodeid: str) -> bool:
        """True only when the report says so and was believed."""
        result = self.results.get(nodeid)
        return not self.distrust and not self.infra_error and result is not None and result.passed

    def matching(self, selectors: Sequence[str]) -> list[str]:
        """Node ids of tests in the report picked by any selector (a node id, a file or a folder)."""
        return [n for n, r in self.results.items() if not r.collection and any(selects(s, n) for s in selectors)]

    @property
    def uncollected(self) -> list[TestResult]:
        """The collectors (files, classes, folders) that failed to collect."""
        return [r for r in self.results.values() if r.collection]


@dataclass(frozen=True)
class Selection:
    """What a run collects and traces beyond its ``tests``."""

    suite: bool = False
    """Start from pytest's own default selection (``testpaths``, else the root) and add the ``tests``
    outside it: the whole suite."""
    trace: tuple[str, ...] = ()
    """With spectra: the selectors of the tests to trace (empty: every test)."""
    deselect: tuple[str, ...] = ()
    """Node ids left out (pytest's ``--deselect``, which drops every node id they prefix)."""
    tolerate_collection_errors: bool = False
    """A baseline: files that fail to collect are reported, the rest runs, and the report is still trusted."""


def selects(selector: str, nodeid: str) -> bool:
    """True when a pytest selector (node id, file, folder) picks the test ``nodeid``."""
    sel = selector.rstrip("/")
    return nodeid == sel or nodeid.startswith((sel + "::", sel + "[", sel + "/"))


def test_files(selectors: Sequence[str]) -> list[str]:
    """The file (or folder) part of each selector, deduplicated in order."""
    return list(dict.fromkeys(s.split("::", 1)[0] for s in selectors))


def error_line(result: TestResult) -> str:
    """The last ``E`` line of a failure's text (its exception), else its message."""
    found = [line[1:].strip() for line in result.details.splitlines() if line.startswith("E ")]
    return (found[-1] if found else result.message)[:200]


def _cross_check(results: list[TestResult], exit_code: int | None, tolerate_collection_errors: bool) -> str:
    broken = [r for r in results if r.collection]
    if broken and not tolerate_collection_errors:
        return f"{broken[0].nodeid} failed to collect ({error_line(broken[0])})"
    # A collection error counts as a failure: pytest's exit status counts it as one.
    failed = any(r.outcome in ("failed", "error") for r in results)
    if exit_code == EXIT_OK and failed:
        return "pytest exited 0 but its report shows failures"
    if exit_code == EXIT_FAILED and not failed:
        return "pytest exited 1 but its report shows no failure"
    if exit_code not in (EXIT_OK, EXIT_FAILED, EXIT_NO_TESTS) and not failed:
        return f"pytest exited {exit_code}"
    return ""


def _tail(result: ExecResult, chars: int = 1500) -> str:
    text = (result.stdout.tail or result.stdout.head) + (result.stderr.tail or result.stderr.head)
    return text[-chars:]


async def run_pytest(
    sandbox: Sandbox,
    repo: Path | Mapping[str, bytes],
    tests: Sequence[str],
    overrides: Mapping[str, bytes] | None = None,
    *,
    limits: Limits,
    test_timeout_s: float = 20.0,
    spectra: bool = False,
    exclude_dirs: Sequence[str] = (),
    paths: Sequence[str] = (),
    selection: Selection | None = None,
) -> TestRun:
    """Run ``tests`` (pytest selectors) in a sandbox copy of ``repo`` with ``overrides`` written over it.

    ``repo`` is a folder (read at each call) or a snapshot of one (:func:`workspace.snapshot`).

    ``spectra`` records the repo functions each test called (outside ``exclude_dirs``);
    ``paths`` are repo folders put on ``sys.path`` (a ``src`` layout); ``selection`` widens
    or narrows what runs and what is traced (:class:`Selection`).
    """
    chosen = selection or Selection()
    nonce = secrets.token_hex(8)
    junit = f"{RUNNER_DIR}/junit-{nonce}.xml"
    trace = f"{RUNNER_DIR}/spectra-{nonce}.json" if spectra else ""
    lines = f"{RUNNER_DIR}/lines-{nonce}.json" if spectra else ""
    spec = {
        "tests": list(tests),
        "junit": junit,
        "timeout": test_timeout_s,
        "budget": limits.cpu_seconds * BUDGET_SHARE,
        "spectra_out": trace,
        "lines_out": lines,
        "exclude_dirs": list(exclude_dirs),
        "paths": list(paths),
        "suite": chosen.suite,
        "trace": list(chosen.trace),
        "deselect": list(chosen.deselect),
        "tolerate_collection_errors": chosen.tolerate_collection_errors,
    }
    tree = repo if isinstance(repo, Mapping) else {}
    directory = repo if isinstance(repo, Path) else None
    files = {
        **tree,
        **(overrides or {}),
        f"{RUNNER_DIR}/runner.py": _RUNNER_SOURCE(),
        f"{RUNNER_DIR}/spec.json": json.dumps(spec).encode(),
    }
    command = ["python3", f"{RUNNER_DIR}/runner.py", f"{RUNNER_DIR}/spec.json"]
    collect = [junit, *([trace, lines] if trace else [])]
    result = await sandbox.exec(command, files, limits, directory=directory, collect=collect)
    tolerate = chosen.tolerate_collection_errors
    run = read_run(result, junit, trace, lines, tolerate_collection_errors=tolerate)
    if run.infra_error:
        # One more try: a container's first batch in a freshly built image can fail to start in
        # time under load; a second failure is reported as it is, never as a verdict.
        result = await sandbox.exec(command, files, limits, directory=directory, collect=collect)
        run = read_run(result, junit, trace, lines, tolerate_collection_errors=tolerate)
    return run


def _signal_name(number: int) -> str:
    try:
        name = signal.Signals(number).name
    except ValueError:
        return "an unknown signal"
    return f"{name}: its CPU time limit" if name == "SIGXCPU" else name


def read_run(
    result: ExecResult, junit: str, trace: str = "", lines: str = "", *, tolerate_collection_errors: bool = False
) -> TestRun:
    """A :class:`TestRun` from the command's result and the files it left."""
    tail = _tail(result)
    if result.exit_code is None and result.signal is not None and not result.timed_out:
        # Killed by a limit (SIGXCPU, or SIGKILL at the memory or the hard CPU limit): the code
        # under test did that (a loop at import, outside any test's alarm), so it is a verdict.
        why = f"the test run was killed by signal {result.signal} ({_signal_name(result.signal)})"
        return TestRun({}, None, distrust=why, output_tail=tail)
    if result.exit_code is None and not result.timed_out:
        return TestRun({}, None, infra_error=result.message or "the sandbox returned no exit status", output_tail=tail)
    try:
        results = parse_report(result.files[junit]) if junit in result.files else []
    except ReportError as exc:
        return TestRun({}, result.exit_code, distrust=str(exc), output_tail=tail)
    by_id = {r.nodeid: r for r in results}
    if result.timed_out:
        distrust = "the test run exceeded its wall-clock limit"
    elif junit not in result.files:
        distrust = f"pytest wrote no report (exit code {result.exit_code})"
    else:
        distrust = _cross_check(results, result.exit_code, tolerate_collection_errors)
    spectra, ran = _spectra(result, trace), _lines(result, lines)
    return TestRun(by_id, result.exit_code, distrust=distrust, spectra=spectra, lines=ran, output_tail=tail)


def _json(result: ExecResult, name: str) -> dict[str, object]:
    """A JSON object the runner wrote (empty when absent, cut short or malformed: it is written
    next to the code under test)."""
    if not name or name not in result.files:
        return {}
    try:
        data = json.loads(result.files[name])
    except (ValueError, RecursionError):  # (code under test can write JSON nested past the stack)
        return {}
    return data if isinstance(data, dict) else {}


def _spectra(result: ExecResult, trace: str) -> dict[str, dict[str, str]]:
    return {
        str(test): {str(k): str(v) for k, v in calls.items()}
        for test, calls in _json(result, trace).items()
        if isinstance(calls, dict)
    }


def _lines(result: ExecResult, name: str) -> dict[str, dict[str, frozenset[int]]]:
    def numbers(value: object) -> frozenset[int]:
        return frozenset(n for n in value if isinstance(n, int)) if isinstance(value, list) else frozenset()

    return {
        str(test): {str(k): numbers(v) for k, v in ran.items()}
        for test, ran in _json(result, name).items()
        if isinstance(ran, dict)
    }

"""In-sandbox pytest runner (stdlib + pytest only; shipped as text into the work dir).

Run as ``python3 .codesolve/runner.py SPEC.json``. It runs pytest on the
spec's node ids with a JUnit XML report (xunit1: file and line attributes, so
node ids can be rebuilt), a per-test alarm (a hanging test fails alone instead
of taking the whole run down; once the run's budget is spent, what is left of it
is each test's alarm, down to a floor, so nine hanging tests cannot add up past
the run's CPU limit and cost every result), and optionally a per-test spectrum: the repo
functions each test called, the caller of each (for depth tie-breaks), and the
lines of each it ran (``sys.settrace``, line events in repo code only: a
wrong value often comes from a branch only the failing test takes, in a
function the passing tests call too). A code object whose every line has been
seen stops being line-traced, so hot loops cost little; only the tests the
spec's ``trace`` selectors pick are traced (the rest run at full speed). With
``suite`` the run starts from pytest's own default selection (the ini file's
``testpaths``, else the root) and adds the spec's tests that lie outside it.
A parameter holding the work dir's absolute path gets an id with ``<root>``
in its place, so node ids are the same in every sandbox copy. The process
exits with pytest's own exit code.
"""

from __future__ import annotations

import dis
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest

ROOT = os.getcwd()
ROOT_MARK = "<root>"
FLOOR_S = 0.05
"""Each test's alarm once the run's budget is spent: a quick test still passes."""


class TestTimeout(BaseException):
    """A test ran past its alarm (a BaseException: code under test catching ``Exception`` keeps it going)."""

    __test__ = False


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise TestTimeout("test exceeded its time limit")


class Spectra:
    """Which repo functions each test called, who called them, and which of their lines ran."""

    def __init__(self, exclude_dirs: list[str]) -> None:
        self.by_test: dict[str, dict[str, str]] = {}
        self.lines_by_test: dict[str, dict[str, set[int]]] = {}
        self.failed: set[str] = set()
        self.current: dict[str, str] | None = None
        self.lines: dict[str, set[int]] = {}
        self.skip = tuple(os.path.join(ROOT, d) + os.sep for d in exclude_dirs)
        self.keys: dict[Any, str | None] = {}
        self.all_lines: dict[Any, frozenset[int]] = {}

    def key(self, code: Any) -> str | None:
        """``path::qualname`` of a code object in the repo (outside the excluded folders), else None."""
        if code in self.keys:
            return self.keys[code]
        path = code.co_filename
        found = None
        if path.startswith(ROOT + os.sep) and not path.startswith(self.skip) and "/.codesolve/" not in path:
            found = f"{path[len(ROOT) + 1 :]}::{getattr(code, 'co_qualname', code.co_name)}"
        self.keys[code] = found
        return found

    def start(self) -> None:
        """A test's call begins."""
        self.current, self.lines = {}, {}

    def stop(self, nodeid: str) -> None:
        """A test's call ended: keep what it ran."""
        self.by_test[nodeid] = self.current or {}
        self.lines_by_test[nodeid] = self.lines
        self.current, self.lines = None, {}

    def lines_of_suspects(self) -> dict[str, dict[str, list[int]]]:
        """Lines run per test, of the functions some failing test called only: no other is a
        suspect, and a whole suite's lines would outgrow what the host reads back."""
        suspects = {k for t in self.failed for k in self.by_test.get(t, {})}
        return {t: {k: sorted(v) for k, v in ran.items() if k in suspects} for t, ran in self.lines_by_test.items()}

    def trace(self, frame: FrameType, event: str, _arg: object) -> Any:
        """The global trace hook: note a repo function's call and line-trace its frame."""
        if event != "call" or self.current is None:
            return None
        code = frame.f_code
        key = self.key(code)
        if key is None:
            return None
        if key not in self.current:
            back = frame.f_back
            caller = self.key(back.f_code) if back is not None else None
            self.current[key] = caller or ""
        seen = self.lines.setdefault(key, set())
        if code not in self.all_lines:
            self.all_lines[code] = frozenset(line for _, line in dis.findlinestarts(code) if line is not None)
        every = self.all_lines[code]
        if every and every <= seen:
            return None
        return self._local(seen, every)

    @staticmethod
    def _local(seen: set[int], every: frozenset[int]) -> Any:
        def local(frame: FrameType, event: str, _arg: object) -> Any:
            if event == "line":
                seen.add(frame.f_lineno)
                if len(seen) >= len(every) and every <= seen:
                    frame.f_trace_lines = False  # nothing new can show up in this frame
            return local

        return local


def picks(selector: str, nodeid: str) -> bool:
    """True when a pytest selector (node id, file, folder) picks the test ``nodeid``."""
    sel = selector.rstrip("/")
    return sel in ("", ".") or nodeid == sel or nodeid.startswith((sel + "::", sel + "[", sel + "/"))


def _covered(path: str, roots: list[str]) -> bool:
    """True when the file or folder part of ``path`` lies under one of ``roots`` (paths from the root)."""
    target = os.path.abspath(os.path.join(ROOT, path.split("::", 1)[0]))
    return any(target == r or target.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


class Plugin:
    """An alarm around each test; optionally the spectrum of its call."""

    def __init__(
        self, spectra: Spectra | None, timeout: float, trace: list[str], extra: list[str], budget: float | None = None
    ) -> None:
        self.spectra = spectra
        self.timeout = timeout
        self.deadline = None if budget is None else time.monotonic() + budget
        self.trace = trace
        self.extra = extra

    def pytest_make_parametrize_id(self, val: object) -> str | None:
        """A parameter holding this copy's absolute path gets an id without it: each run has its own
        work dir, and a test's node id must be the same in the baseline and in every later run."""
        if isinstance(val, str) and ROOT in val:
            return val.replace(ROOT, ROOT_MARK).encode("unicode_escape").decode("ascii")
        return None

    def pytest_configure(self, config: pytest.Config) -> None:
        """A whole-suite run: pytest's default selection plus the spec's tests outside it."""
        roots = [os.path.abspath(os.path.join(ROOT, a.split("::", 1)[0])) for a in config.args]
        config.args += [t for t in self.extra if not _covered(t, roots)]

    def _alarmed(self) -> Iterator[None]:
        # Only the test's own code runs under the alarm: pytest making the failure report
        # (a 1000-frame RecursionError takes seconds) must not be interrupted, or pytest
        # stops with an internal error and the whole run has no report.
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, self._alarm_s())
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    def _alarm_s(self) -> float:
        if self.deadline is None:
            return self.timeout
        return min(self.timeout, max(FLOOR_S, self.deadline - time.monotonic()))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self) -> Iterator[None]:
        """Fixtures' setup under the alarm."""
        yield from self._alarmed()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self) -> Iterator[None]:
        """Fixtures' teardown under the alarm."""
        yield from self._alarmed()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Note the tests that failed (in any phase)."""
        if self.spectra is not None and report.failed:
            self.spectra.failed.add(report.nodeid)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        """The spectrum of the test's call only: fixtures' setup is shared scenery, not what it tests."""
        if self.spectra is None or (self.trace and not any(picks(t, item.nodeid) for t in self.trace)):
            yield from self._alarmed()
            return
        self.spectra.start()
        previous = sys.gettrace()  # a coverage plugin's tracer, say: put back after the test's call
        sys.settrace(self.spectra.trace)
        threading.settrace(self.spectra.trace)
        try:
            yield from self._alarmed()
        finally:
            sys.settrace(previous)
            threading.settrace(previous)
            self.spectra.stop(item.nodeid)


def main() -> None:
    """Run pytest as the spec says; exit with its exit code."""
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    # As ``python -m pytest`` does: the repo root, not this script's folder, on sys.path.
    sys.path[0] = ROOT
    for extra in spec.get("paths", []):
        sys.path.insert(0, os.path.join(ROOT, extra))
    spectra = Spectra(spec.get("exclude_dirs", [])) if spec.get("spectra_out") else None
    suite = bool(spec.get("suite"))
    args = [
        "-p",
        "no:cacheprovider",
        "-q",
        "--tb=short",
        "-rN",
        f"--junitxml={spec['junit']}",
        "-o",
        "junit_family=xunit1",
        "-o",
        "junit_logging=all",
        "-o",
        "junit_log_passing_tests=false",
        "--rootdir",
        ROOT,
        *(["--continue-on-collection-errors"] if spec.get("tolerate_collection_errors") else []),
        *[f"--deselect={d}" for d in spec.get("deselect", [])],
        *([] if suite else spec["tests"]),
    ]
    extra = spec["tests"] if suite else []
    plugin = Plugin(spectra, spec["timeout"], spec.get("trace", []), extra, spec.get("budget"))
    code = int(pytest.main(args, plugins=[plugin]))
    if spectra is not None:
        with open(spec["spectra_out"], "w") as out:
            json.dump(spectra.by_test, out)
        with open(spec["lines_out"], "w") as out:
            json.dump(spectra.lines_of_suspects(), out)
    sys.stdout.flush()
    os._exit(code)


if __name__ == "__main__":
    main()

"""In-sandbox pytest runner (stdlib + pytest only; shipped as text into the work dir).

Run as ``python3 .codesolve/runner.py SPEC.json``. It runs pytest on the
spec's node ids with a JUnit XML report (xunit1: file and line attributes, so
node ids can be rebuilt), a per-test alarm (a hanging test fails alone instead
of taking the whole run down), and optionally a per-test spectrum: the repo
functions each test called (``sys.setprofile``: call events only, cheaper than
line tracing, and a function is the unit we localise to) and the caller of
each, for depth tie-breaks. The process exits with pytest's own exit code.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

import pytest

ROOT = os.getcwd()


class TestTimeout(BaseException):
    """A test ran past its alarm (a BaseException: code under test catching ``Exception`` keeps it going)."""

    __test__ = False


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise TestTimeout("test exceeded its time limit")


class Spectra:
    """Which repo functions each test called (file, qualname, first line) and who called them."""

    def __init__(self, exclude_dirs: list[str]) -> None:
        self.by_test: dict[str, dict[str, str]] = {}
        self.current: dict[str, str] | None = None
        self.skip = tuple(os.path.join(ROOT, d) + os.sep for d in exclude_dirs)

    def key(self, code: Any) -> str | None:
        """``path::qualname`` of a code object in the repo (outside the excluded folders), else None."""
        path = code.co_filename
        if not path.startswith(ROOT + os.sep) or path.startswith(self.skip) or "/.codesolve/" in path:
            return None
        return f"{path[len(ROOT) + 1 :]}::{getattr(code, 'co_qualname', code.co_name)}"

    def profile(self, frame: FrameType, event: str, _arg: object) -> None:
        """The profile hook: note each repo function's first call in the current test."""
        if event != "call" or self.current is None:
            return
        key = self.key(frame.f_code)
        if key is None:
            return
        seen = self.current
        if key not in seen:
            back = frame.f_back
            caller = self.key(back.f_code) if back is not None else None
            seen[key] = caller or ""


class Plugin:
    """An alarm around each test; optionally the spectrum of its call."""

    def __init__(self, spectra: Spectra | None, timeout: float) -> None:
        self.spectra = spectra
        self.timeout = timeout

    def _alarmed(self) -> Iterator[None]:
        # Only the test's own code runs under the alarm: pytest making the failure report
        # (a 1000-frame RecursionError takes seconds) must not be interrupted, or pytest
        # stops with an internal error and the whole run has no report.
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, self.timeout)
        try:
            yield
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_setup(self) -> Iterator[None]:
        """Fixtures' setup under the alarm."""
        yield from self._alarmed()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_teardown(self) -> Iterator[None]:
        """Fixtures' teardown under the alarm."""
        yield from self._alarmed()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        """The spectrum of the test's call only: fixtures' setup is shared scenery, not what it tests."""
        if self.spectra is None:
            yield from self._alarmed()
            return
        self.spectra.current = {}
        sys.setprofile(self.spectra.profile)
        threading.setprofile(self.spectra.profile)
        try:
            yield from self._alarmed()
        finally:
            sys.setprofile(None)
            threading.setprofile(None)
            self.spectra.by_test[item.nodeid] = self.spectra.current or {}
            self.spectra.current = None


def main() -> None:
    """Run pytest as the spec says; exit with its exit code."""
    with open(sys.argv[1]) as handle:
        spec = json.load(handle)
    # As ``python -m pytest`` does: the repo root, not this script's folder, on sys.path.
    sys.path[0] = ROOT
    for extra in spec.get("paths", []):
        sys.path.insert(0, os.path.join(ROOT, extra))
    spectra = Spectra(spec.get("exclude_dirs", [])) if spec.get("spectra_out") else None
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
        *spec["tests"],
    ]
    code = int(pytest.main(args, plugins=[Plugin(spectra, spec["timeout"])]))
    if spectra is not None:
        with open(spec["spectra_out"], "w") as out:
            json.dump(spectra.by_test, out)
    sys.stdout.flush()
    os._exit(code)


if __name__ == "__main__":
    main()

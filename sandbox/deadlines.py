"""Outer deadlines: the host's own bound on a batch, on top of the driver's per-test limits.

The driver enforces every test's limits inside the sandbox; these numbers only
catch a driver (or daemon) that stops answering, so they are generous.
"""

from __future__ import annotations

from sandbox._types import CheckerSpec, Limits, Program
from sandbox.languages import get_language

STARTUP_S = 20.0
"""Driver start, fork-server start and tear-down."""

COMPILE_S = 130.0
"""The driver gives a compiler 120 s; a little more here."""

PER_TEST_OVERHEAD_S = 2.0
"""Fork, output checking and reporting of one test, with room for a loaded machine."""


def batch_deadline(limits: Limits, n_tests: int, program: Program, checker: CheckerSpec | None = None) -> float:
    """Seconds after which the host gives up on a batch and reports SE for what is missing
    (with ``n_tests`` 0: how long the driver may be silent before its first test starts)."""
    compiled = [program] + ([checker.program] if checker is not None and checker.program is not None else [])
    # The program and a checker program are built one after the other, before the first test.
    compile_s = COMPILE_S * sum(1 for p in compiled if get_language(p.language).compile)
    return STARTUP_S + compile_s + (n_tests + 1) * (limits.wall + PER_TEST_OVERHEAD_S)

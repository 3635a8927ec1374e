"""The regression set a baseline run establishes, and how a candidate's run of it is chosen.

By default the baseline runs the whole suite: every test passing then must keep
passing. Tests failing at baseline, and files that fail to collect (a missing
optional dependency, say), are simply not in the set: they are counted and
named, never fatal, and never collected again. A candidate's run of the set
names the files that hold a kept test (so a broken file elsewhere is not
collected) and deselects the tests of those files that were not passing.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from codesolve.tasks.repo.testrun import TestRun, error_line

SHOWN_UNCOLLECTED = 3


def file_of(nodeid: str) -> str:
    """The file part of a node id."""
    return nodeid.split("::", 1)[0]


@dataclass(frozen=True)
class RegressionSet:
    """The tests that must keep passing, and what the baseline left out."""

    tests: tuple[str, ...]
    """Node ids passing at baseline (outside the tests to fix)."""
    files: tuple[str, ...]
    """The files a full check of a candidate runs: those holding a test to fix or to keep."""
    deselect: tuple[str, ...]
    """Tests of those files not passing at baseline, safe to leave out (none prefixes a kept one)."""
    left_failing: int
    """Tests failing or erroring at baseline that are not among the tests to fix."""
    uncollected: tuple[tuple[str, str], ...]
    """Collectors (files, folders) that failed to collect at baseline, with their error."""
    whole_suite: bool

    def summary(self) -> str:
        """One line: the set's size and what was left out."""
        scope = "the whole suite" if self.whole_suite else "--test files and --keep-passing"
        line = f"regression set: {len(self.tests)} passing test(s) in {len(self.files)} file(s) ({scope})"
        line += f"; left out: {self.left_failing} failing at baseline, {len(self.uncollected)} that do not collect"
        if self.uncollected:
            shown = "; ".join(f"{n}: {why}" for n, why in self.uncollected[:SHOWN_UNCOLLECTED])
            hidden = len(self.uncollected) - SHOWN_UNCOLLECTED
            line += f" ({shown}{f'; … {hidden} more' if hidden > 0 else ''})"
        return line


def regression_set(run: TestRun, must_pass: Sequence[str], whole_suite: bool) -> RegressionSet:
    """The regression set of a trusted baseline ``run`` whose failing ``must_pass`` tests are to be fixed."""
    fixing = set(must_pass)
    tests = tuple(t for t, r in run.results.items() if t not in fixing and run.passed(t) and not r.collection)
    kept = [*must_pass, *tests]
    files = tuple(dict.fromkeys(file_of(t) for t in kept))
    wanted = set(files)
    others = [t for t, r in run.results.items() if not r.collection and t not in fixing and not run.passed(t)]
    drop = [t for t in others if file_of(t) in wanted]
    left = sum(1 for t in others if run.results[t].outcome in ("failed", "error"))
    return RegressionSet(
        tests=tests,
        files=files,
        deselect=tuple(safe_deselect(drop, kept)),
        left_failing=left,
        uncollected=tuple((r.nodeid, error_line(r)) for r in run.uncollected),
        whole_suite=whole_suite,
    )


def safe_deselect(drop: Sequence[str], keep: Sequence[str]) -> list[str]:
    """The node ids of ``drop`` that prefix none of ``keep``: pytest's ``--deselect`` drops every node id
    a given one prefixes (``test_a`` would take ``test_ab`` with it).

    The kept ids are sorted once: those a given id prefixes sort right after it, so the first
    one at or after it says (testing every kept id for every dropped one was quadratic: 16,000
    kept and 4,000 dropped took 7.6 s).
    """
    ordered = sorted(keep)

    def prefixes_one(d: str) -> bool:
        at = bisect.bisect_left(ordered, d)
        return at < len(ordered) and ordered[at].startswith(d)

    return [d for d in drop if not prefixes_one(d)]

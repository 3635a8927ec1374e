"""Debugging feedback from a repository test run: what the model needs, capped.

Per failing test: pytest's failure message with its own assertion diff, the
short traceback with frames outside the repository dropped, and the captured
output. At most ``MAX_SHOWN`` tests, each clipped, the whole capped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from codesolve.tasks.feedback import clip
from codesolve.tasks.repo.testrun import TestRun

MAX_SHOWN = 3
DETAIL_CHARS = 1800
OUTPUT_CHARS = 400
TOTAL_CHARS = 6000
_FRAME_HEAD = re.compile(r"^\S.*:\d+: in \S+")
OUTSIDE = "[frames outside the repository left out]"


def repo_traceback(details: str) -> str:
    """Pytest's short traceback without frames outside the repository (absolute paths).

    The error lines (``E   …``) are always kept: when the exception is raised in
    a library (``json.loads`` on bad text), they sit under that library's frame.
    """
    kept: list[str] = []
    skipping = False
    for line in details.splitlines():
        if _FRAME_HEAD.match(line):
            skipping = line.startswith("/")
            if skipping and (not kept or kept[-1] != OUTSIDE):
                kept.append(OUTSIDE)
        if not skipping or line.startswith("E ") or line == "E":
            kept.append(line)
    return "\n".join(kept)


def describe(run: TestRun, nodeid: str) -> str:
    """One failing test, as the model sees it."""
    if run.distrust:
        return f"{nodeid}: not trusted as passing ({run.distrust})"
    result = run.results.get(nodeid)
    if result is None:
        return f"{nodeid}: did not run (pytest never reported it)"
    parts = [f"{nodeid}: {result.outcome}"]
    body = repo_traceback(result.details) or result.message
    if body:
        parts.append(clip(body, DETAIL_CHARS))
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        if text.strip():
            parts.append(f"captured {name}:\n{clip(text.strip(), OUTPUT_CHARS)}")
    return "\n".join(parts)


def render(run: TestRun, tests: Sequence[str]) -> str:
    """Feedback for every test of ``tests`` that did not pass (empty when all passed)."""
    failed = [t for t in tests if not run.passed(t)]
    if not failed:
        return ""
    if run.distrust and not run.results:
        tail = clip(run.output_tail.strip(), DETAIL_CHARS)
        return f"The tests could not be run: {run.distrust}.\n{tail}"
    shown = [describe(run, t) for t in failed[:MAX_SHOWN]]
    more = f"\n… and {len(failed) - MAX_SHOWN} more failing" if len(failed) > MAX_SHOWN else ""
    return clip(f"{len(failed)} of {len(tests)} tests fail.\n\n" + "\n\n".join(shown) + more, TOTAL_CHARS)


def verdict(run: TestRun, nodeid: str) -> str:
    """AC for a believed pass; WA (failed), RE (error), SK (skipped) or NR (not run) otherwise."""
    if run.infra_error:
        return "SE"
    result = run.results.get(nodeid)
    if result is None:
        return "NR"
    if run.distrust:
        return "WA"
    return {"passed": "AC", "failed": "WA", "error": "RE", "skipped": "SK"}[result.outcome]

"""Grading a patch like SWE-bench: apply it, apply ``test_patch``, run FAIL_TO_PASS and PASS_TO_PASS.

The test outcomes come from pytest's JUnit XML cross-checked with its exit code
(:func:`codesolve.tasks.repo.run_pytest`), never from what the tests print. A
verdict is one of:

* ``resolved``: every FAIL_TO_PASS and PASS_TO_PASS test passed;
* ``unresolved``: the patch's fault: it is unsafe, does not apply, edits the
  tests, or a listed test did not pass;
* ``infra_error``: not the patch's fault: the environment did not build, the
  test patch did not apply, the sandbox failed. Never counted as a wrong patch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import anyio.to_thread

from codesolve.errors import RepositoryError
from codesolve.tasks.models import SweInstance
from codesolve.tasks.repo.testrun import TestRun, run_pytest
from codesolve.tasks.repo.workspace import source_paths
from codesolve.tasks.swe.patches import PatchFailed, PatchRefused, apply_patch, edits_to_tests, touched_paths
from codesolve.tasks.swe.specs import EnvSpec
from sandbox import Limits, Sandbox

Status = Literal["resolved", "unresolved", "infra_error"]
GRADE_LIMITS = Limits(cpu_seconds=900, wall_seconds=1800, memory_mb=3072, processes=256)


@dataclass(frozen=True)
class Grade:
    """One instance's verdict, with each listed test's outcome."""

    instance_id: str
    status: Status
    reason: str = ""
    fail_to_pass: Mapping[str, str] = field(default_factory=dict)
    """Test → PASSED / FAILED / ERROR / SKIPPED / NOT RUN."""
    pass_to_pass: Mapping[str, str] = field(default_factory=dict)
    applied_with: str = ""


def files_of_test_patch(instance: SweInstance) -> list[str]:
    """The Python files ``test_patch`` touches: the files SWE-bench runs."""
    return [p for p in touched_paths(instance.test_patch) if p.endswith(".py")]


class NodeIndex:
    """A report's node ids by the names a listed test may give them, built once per run: looking
    each of thousands of listed names up by a scan of the report was quadratic (8,000 names
    against 8,000 results: 10 s of the event loop)."""

    def __init__(self, run: TestRun, by: Literal["nodeid", "function"]) -> None:
        self.by = by
        self.results = run.results
        self._named: dict[str, list[str]] = {}
        for nodeid in run.results:
            if by == "nodeid":
                self._named.setdefault(nodeid.split(" ", 1)[0], []).append(nodeid)
                continue
            last = nodeid.rsplit("::", 1)[-1]
            for key in (last, without_params(last)):
                self._named.setdefault(key, [nodeid])  # the first node id that answers to it

    def nodes(self, name: str) -> list[str]:
        """The report's node ids for a listed test: a node id, or a bare function name.

        SWE-bench's lists cut a node id at its first space (its log parser splits
        on whitespace), so a listed id also names every node id that starts with it
        followed by a space: all of them must pass.
        """
        if self.by == "nodeid" and name in self.results:
            return [name]
        return list(self._named.get(name, []))


def without_params(name: str) -> str:
    """A node id's last part less its parameters: from the first ``[`` on, when it ends with ``]``.

    (Not a pattern: ``\\[.*\\]$`` tried every ``[`` to the end, quadratic in a name a candidate's
    own tests could make long; node ids hold no newline.)
    """
    at = name.find("[")
    return name[:at] if at >= 0 and name.endswith("]") else name


def outcome(name: str, run: TestRun, index: NodeIndex) -> str:
    """PASSED only when the cross-checked report says so (for every node the name stands for)."""
    nodes = index.nodes(name)
    if not nodes:
        return "NOT RUN"
    bad = [n for n in nodes if not run.passed(n)]
    if not bad:
        return "PASSED"
    if run.distrust:
        return "FAILED"
    return {"failed": "FAILED", "error": "ERROR", "skipped": "SKIPPED"}.get(run.results[bad[0]].outcome, "FAILED")


def verdict_of(instance: SweInstance, run: TestRun, spec: EnvSpec, applied_with: str) -> Grade:
    """The grade a finished test run gives."""
    if run.infra_error:
        return Grade(instance.instance_id, "infra_error", f"the sandbox failed: {run.infra_error}")
    index = NodeIndex(run, spec.test_names)
    f2p = {t: outcome(t, run, index) for t in instance.FAIL_TO_PASS}
    p2p = {t: outcome(t, run, index) for t in instance.PASS_TO_PASS}
    bad = [t for t, o in {**f2p, **p2p}.items() if o != "PASSED"]
    if not bad:
        return Grade(instance.instance_id, "resolved", "", f2p, p2p, applied_with)
    why = f"{len(bad)} listed test(s) did not pass, e.g. {bad[0]} ({({**f2p, **p2p})[bad[0]]})"
    if run.distrust:
        why += f"; report not trusted: {run.distrust}"
    return Grade(instance.instance_id, "unresolved", why, f2p, p2p, applied_with)


async def grade(
    instance: SweInstance,
    tree: Path,
    sandbox: Sandbox,
    spec: EnvSpec,
    patch: str,
    limits: Limits = GRADE_LIMITS,
) -> Grade:
    """Grade ``patch`` on ``tree`` (a fresh checkout at the base commit; it is modified)."""
    iid = instance.instance_id
    edits = edits_to_tests(patch)
    if edits:
        return Grade(iid, "unresolved", f"the patch edits test files ({', '.join(edits[:3])}): not gradable by them")
    try:
        applied = await anyio.to_thread.run_sync(apply_patch, tree, patch, "patch")
    except (PatchRefused, PatchFailed) as exc:
        return Grade(iid, "unresolved", str(exc))
    except RepositoryError as exc:
        return Grade(iid, "infra_error", f"applying the patch: {exc}")
    try:
        await anyio.to_thread.run_sync(apply_patch, tree, instance.test_patch, "test patch")
    except (PatchRefused, PatchFailed, RepositoryError) as exc:
        return Grade(iid, "infra_error", f"test_patch: {exc}")
    files = files_of_test_patch(instance)
    if not files:
        return Grade(iid, "infra_error", "test_patch touches no Python test file")
    run = await run_tests(sandbox, tree, files, spec, limits)
    return verdict_of(instance, run, spec, applied.method)


async def run_tests(sandbox: Sandbox, tree: Path, files: Sequence[str], spec: EnvSpec, limits: Limits) -> TestRun:
    """The test files in the instance's environment, with its source folders on ``sys.path``."""
    paths = spec.paths if spec.paths is not None else source_paths(tree)
    return await run_pytest(sandbox, tree, files, limits=limits, test_timeout_s=spec.test_timeout_s, paths=paths)

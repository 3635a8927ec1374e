"""Repository machinery shared by every repository task (function fixes now, SWE batches next).

* :mod:`~codesolve.tasks.repo.testrun`: pytest in a sandbox copy of a repo,
  results from its JUnit XML cross-checked with its exit code.
* :mod:`~codesolve.tasks.repo.junit`: the report parser (hostile input).
* :mod:`~codesolve.tasks.repo.splice`: new versions of functions spliced in by syntax tree.
* :mod:`~codesolve.tasks.repo.workspace`: targets, requirement files, diffs, applying a fix.
* :mod:`~codesolve.tasks.repo.localise`: spectrum-based fault localisation.
* :mod:`~codesolve.tasks.repo.feedback`: capped debugging feedback from a run.
* :mod:`~codesolve.tasks.repo.inputs`: LLM-free inputs for differential testing.

Environments (derived images cached by content hash) are :mod:`sandbox.environments`.
"""

from codesolve.tasks.repo.inputs import TestCallInputs
from codesolve.tasks.repo.junit import ReportError, TestResult, parse_report
from codesolve.tasks.repo.localise import Localisation, Suspect, localise
from codesolve.tasks.repo.splice import SpliceError, candidate_functions, find_function, splice, splice_all
from codesolve.tasks.repo.testrun import Selection, TestRun, run_pytest, selects, test_files
from codesolve.tasks.repo.workspace import (
    Target,
    WorkspaceError,
    apply_files,
    requirement_files,
    resolve_target,
    snapshot,
    source_paths,
    unified_diff,
)

__all__ = [
    "Localisation",
    "ReportError",
    "Selection",
    "SpliceError",
    "Suspect",
    "Target",
    "TestCallInputs",
    "TestResult",
    "TestRun",
    "WorkspaceError",
    "apply_files",
    "candidate_functions",
    "find_function",
    "localise",
    "parse_report",
    "requirement_files",
    "resolve_target",
    "run_pytest",
    "selects",
    "snapshot",
    "source_paths",
    "splice",
    "splice_all",
    "test_files",
    "unified_diff",
]

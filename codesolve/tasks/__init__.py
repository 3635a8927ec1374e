"""Kinds of work codesolve takes on: problem models and their loaders.

Public API (everything else under :mod:`codesolve.tasks` is private)::

    load_problems(path, format=None) -> list[Problem]
    load_problem(path, id=None, format=None) -> Problem
    read_problems(path, format=None) -> LoadResult     # problems + detected format + duplicates dropped
    detect_format(path) -> str
    dump_problems(problems, path)                      # codesolve JSONL / YAML (.gz ok)
    stream_problems(paths, format=None) -> Iterator[Item]  # record by record, for batches
    check_sources(paths, format=None)                  # bad input raised before any work
    problem.public_view() -> PublicProblem             # what the solver may see (no hidden tests)
"""

from __future__ import annotations

from codesolve.tasks.loaders import (
    FORMATS,
    Item,
    LoadResult,
    check_sources,
    count_records,
    detect_format,
    dump_problems,
    dumps_jsonl,
    dumps_yaml,
    load_problem,
    load_problems,
    read_problems,
    stream_problems,
)
from codesolve.tasks.models import (
    CheckerConfig,
    CompetitiveProblem,
    FunctionFixTask,
    Problem,
    ProblemCore,
    PublicProblem,
    ReferenceSolution,
    SweInstance,
    TestSpec,
)

__all__ = [
    "FORMATS",
    "CheckerConfig",
    "CompetitiveProblem",
    "FunctionFixTask",
    "Item",
    "LoadResult",
    "Problem",
    "ProblemCore",
    "PublicProblem",
    "ReferenceSolution",
    "SweInstance",
    "TestSpec",
    "check_sources",
    "count_records",
    "detect_format",
    "dump_problems",
    "dumps_jsonl",
    "dumps_yaml",
    "load_problem",
    "load_problems",
    "read_problems",
    "stream_problems",
]

"""Kinds of work codesolve takes on: problem models and their loaders.

Public API (everything else under :mod:`codesolve.tasks` is private)::

    load_problems(path, format=None) -> list[Problem]
    load_problem(path, id=None, format=None) -> Problem
    read_problems(path, format=None) -> LoadResult     # problems + detected format + duplicates dropped
    detect_format(path) -> str
    dump_problems(problems, path)                      # codesolve JSONL / YAML (.gz ok)
"""

from __future__ import annotations

from codesolve.tasks.loaders import (
    FORMATS,
    LoadResult,
    detect_format,
    dump_problems,
    dumps_jsonl,
    dumps_yaml,
    load_problem,
    load_problems,
    read_problems,
)
from codesolve.tasks.models import (
    CheckerConfig,
    CompetitiveProblem,
    FunctionFixTask,
    Problem,
    ReferenceSolution,
    SweInstance,
    TestSpec,
)

__all__ = [
    "FORMATS",
    "CheckerConfig",
    "CompetitiveProblem",
    "FunctionFixTask",
    "LoadResult",
    "Problem",
    "ReferenceSolution",
    "SweInstance",
    "TestSpec",
    "detect_format",
    "dump_problems",
    "dumps_jsonl",
    "dumps_yaml",
    "load_problem",
    "load_problems",
    "read_problems",
]

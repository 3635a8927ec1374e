"""The entry points that read a whole problem file or package into memory."""

from __future__ import annotations

from pathlib import Path

from codesolve.errors import ProblemFormatError
from codesolve.tasks.loaders._limits import excerpt
from codesolve.tasks.loaders._registry import read_problems
from codesolve.tasks.models import Problem


def load_problems(path: Path | str, format: str | None = None) -> list[Problem]:
    """Every problem in ``path``: a problem file (optionally ``.gz``) or a Kattis package directory."""
    return read_problems(path, format).problems


def load_problem(path: Path | str, id: str | None = None, format: str | None = None) -> Problem:
    """The problem with ``id`` in ``path``, or its only problem when ``id`` is ``None``."""
    problems = load_problems(path, format)
    if id is None:
        if len(problems) == 1:
            return problems[0]
        ids = ", ".join(excerpt(p.id) for p in problems[:5])
        raise ProblemFormatError(str(path), None, None, f"holds {len(problems)} problems ({ids}…); name one by id")
    for problem in problems:
        if problem.id == id:
            return problem
    raise ProblemFormatError(str(path), None, "id", f"no problem with id {excerpt(id)}")

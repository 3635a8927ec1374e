"""Google Kick Start and Code Jam to I/O for Women, rebuilt from Kattis-style packages.

Samples are public tests; each hidden test is one whole multi-case file
(a test set passes only when the whole file matches). The judge
``token_compare_with_float_tolerance`` becomes a ``float`` checker with the
tolerance as both absolute and relative tolerance; ``custom_validator``
judges need validators the dataset does not include, so the problem is kept
with a ``program`` checker that is missing (``checker_missing``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from codesolve.tasks.loaders import _fields as f
from codesolve.tasks.loaders._io import FieldError
from codesolve.tasks.loaders._limits import excerpt
from codesolve.tasks.models import CheckerConfig, CompetitiveProblem, TestSpec

NAME = "kickstart"
DEFAULT_TIME_LIMIT_S = 20.0
"""For the record without a limit: the most common limit in this dataset (per test file)."""
DEFAULT_MEMORY_MB = 1024
"""Kick Start's usual limit when the statement does not say."""
_MEMORY = re.compile(r"Memory limit:\s*([\d.]+)\s*(GB|MB)", re.IGNORECASE)


def detect(record: Mapping[str, Any]) -> bool:
    """Samples, tests and a judge description."""
    return {"samples", "tests", "judge"} <= record.keys()


def _checker(record: Mapping[str, Any]) -> CheckerConfig:
    judge = f.mapping(record, "judge")
    kind = f.text(judge, "type", name="judge.type")
    if kind == "token_compare_with_float_tolerance":
        tol = f.number(judge, "float_tolerance", name="judge.float_tolerance")
        if tol < 0:
            raise FieldError("judge.float_tolerance", f"must be >= 0, got {tol:g}")
        return CheckerConfig(kind="float", abs_tol=tol, rel_tol=tol)
    if kind in ("custom_validator", "custom"):
        files = f.string_list(judge.get("validator_files", []), "judge.validator_files")
        return CheckerConfig(kind="program", origin=", ".join(files) or "custom validator (not included)")
    raise FieldError("judge.type", f"unknown judge {excerpt(kind)}")


def _tests(record: Mapping[str, Any], key: str) -> list[TestSpec]:
    tests = []
    for index, item in enumerate(f.seq(record, key)):
        where = f"{key}[{index}]"
        if not isinstance(item, Mapping):
            raise FieldError(where, "expected an object")
        group = f.text(item, "group", "", name=f"{where}.group")
        name = f.text(item, "name", str(index + 1), name=f"{where}.name")
        tests.append(
            TestSpec(
                name=f"{group}/{name}" if group else name,
                stdin=f.text(item, "input", name=f"{where}.input"),
                expected=f.text(item, "output", name=f"{where}.output"),
                group=group,
            )
        )
    return tests


def _memory_mb(statement: str) -> int:
    match = _MEMORY.search(statement)
    if match is None:
        return DEFAULT_MEMORY_MB
    size = float(match.group(1))
    return max(1, int(size * 1024 if match.group(2).upper() == "GB" else size))


def convert(record: Mapping[str, Any], _path: Path) -> CompetitiveProblem:
    """One Kick Start / Code Jam to I/O record."""
    statement = f.text(record, "statement_text")
    limit = record.get("time_limit_seconds")
    origin = f.mapping(record, "origin", {})
    repo = f"{origin.get('repo', '')}@{str(origin.get('commit', ''))[:8]}".strip("@")
    return CompetitiveProblem(
        id=f.identifier(record, "id"),
        title=f.text(record, "name", ""),
        statement=statement,
        public_tests=_tests(record, "samples"),
        hidden_tests=_tests(record, "tests"),
        time_limit_s=(
            DEFAULT_TIME_LIMIT_S
            if limit is None
            else f.positive(f.number(record, "time_limit_seconds"), "time_limit_seconds")
        ),
        memory_mb=_memory_mb(statement),
        checker=_checker(record),
        source=f"{f.text(record, 'source', '')} ({repo})".strip(),
        licence=str(origin.get("license", "Apache-2.0")),
    )

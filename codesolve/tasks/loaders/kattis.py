"""Kattis / ICPC problem packages: a directory with ``problem.yaml`` and ``data/``.

* ``data/sample/*.in`` with ``.ans`` → public tests; ``data/secret/**/*.in``
  with ``.ans`` → hidden tests (sorted by path).
* Time limit, memory, validators, interactive problems and submissions:
  see :mod:`codesolve.tasks.loaders.kattis_judge` (problemtools' rules).
  Memory: ``limits.memory`` in MiB, else 2048 (the spec's default).
* ``validation: default`` compares tokens (the spec's default is
  case-insensitive, ours stays strict); ``validator_flags`` with
  ``float_tolerance``, ``float_absolute_tolerance`` or
  ``float_relative_tolerance`` selects the float checker.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from codesolve.errors import ProblemFormatError
from codesolve.tasks.loaders import kattis_judge
from codesolve.tasks.loaders._io import FieldError, Source, format_errors, one_line
from codesolve.tasks.models import CheckerConfig, CompetitiveProblem, TestSpec

NAME = "kattis"
_STATEMENTS = ("problem.en.md", "problem.md", "problem.en.tex", "problem.tex")
_VALIDATOR_LANGUAGES = {".py": "python", ".cpp": "cpp", ".cc": "cpp", ".cxx": "cpp"}
_FLOAT_FLAGS = {"float_tolerance", "float_absolute_tolerance", "float_relative_tolerance"}


def _read(path: Path, package: Path) -> str:
    """A text file of the package (UTF-8; errors name the file)."""
    if not path.is_file():
        raise ProblemFormatError(str(package), None, path.relative_to(package).as_posix(), "file missing")
    return Source(path).text


def _config(package: Path) -> Mapping[str, Any]:
    path = package / "problem.yaml"
    if not path.is_file():
        raise ProblemFormatError(str(package), None, None, "not a problem package: no problem.yaml")
    try:
        data = yaml.safe_load(Source(path).text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        raise ProblemFormatError(str(path), where, None, one_line(f"bad YAML: {exc}")) from exc
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ProblemFormatError(str(path), None, None, "expected a mapping at the top level")
    return data


def _tests(package: Path, folder: str) -> list[TestSpec]:
    root = package / "data" / folder
    tests = []
    for stdin_path in sorted(root.rglob("*.in")) if root.is_dir() else []:
        answer = stdin_path.with_suffix(".ans")
        rel = stdin_path.relative_to(package / "data").with_suffix("").as_posix()
        if not answer.is_file():
            raise ProblemFormatError(str(package), f"data/{rel}.in", "ans", "no matching .ans file")
        sub = stdin_path.parent.relative_to(package / "data").as_posix()
        tests.append(TestSpec(name=rel, stdin=_read(stdin_path, package), expected=_read(answer, package), group=sub))
    return tests


def _number(config: Mapping[str, Any], key: str, field: str, default: float) -> float:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FieldError(field, f"expected a number, got {type(value).__name__}")
    if not value > 0:
        raise FieldError(field, f"must be positive, got {value:g}")
    return float(value)


def _memory(config: Mapping[str, Any]) -> int:
    limits = config.get("limits", {}) or {}
    if not isinstance(limits, Mapping):
        raise FieldError("limits", "expected a mapping")
    return int(_number(limits, "memory", "limits.memory", 2048))


def _float_checker(flags: str) -> CheckerConfig:
    words = flags.split()
    abs_tol = rel_tol = 0.0
    for index, word in enumerate(words[:-1]):
        try:
            value = float(words[index + 1])
        except ValueError:
            continue
        if word in ("float_tolerance", "float_absolute_tolerance"):
            abs_tol = value
        if word in ("float_tolerance", "float_relative_tolerance"):
            rel_tol = value
    return CheckerConfig(kind="float", abs_tol=abs_tol, rel_tol=rel_tol)


def _checker(package: Path, config: Mapping[str, Any]) -> CheckerConfig:
    validation = str(config.get("validation", "default"))
    interactive = kattis_judge.is_interactive(package, config)
    if interactive or validation.startswith("custom"):
        return kattis_judge.validator(package, interactive)
    if validation != "default":
        raise FieldError("validation", f"unknown validation {validation!r}")
    flags = config.get("validator_flags", "") or ""
    if not isinstance(flags, str):
        raise FieldError("validator_flags", "expected a string")
    return _float_checker(flags) if _FLOAT_FLAGS & set(flags.split()) else CheckerConfig()


def _statement(package: Path) -> str:
    for folder in ("problem_statement", "statement"):
        for name in _STATEMENTS:
            path = package / folder / name
            if path.is_file():
                return _read(path, package)
    return ""


def _title(config: Mapping[str, Any], default: str) -> str:
    name = config.get("name", default)
    if isinstance(name, Mapping):  # {language: title}
        name = name.get("en", next(iter(name.values()), default))
    return str(name)


def load_package(package: Path) -> list[tuple[str, CompetitiveProblem]]:
    """The one problem of a package directory, labelled by its directory name."""
    config = _config(package)
    pid = package.resolve().name
    with format_errors(str(package / "problem.yaml"), pid):
        time_limit, time_origin, time_rule = kattis_judge.time_limit(package, config)
        problem = CompetitiveProblem(
            id=pid,
            title=_title(config, pid),
            statement=_statement(package),
            public_tests=_tests(package, "sample"),
            hidden_tests=_tests(package, "secret"),
            time_limit_s=time_limit,
            time_limit_origin=time_origin,
            time_limit_rule=time_rule,
            memory_mb=_memory(config),
            checker=_checker(package, config),
            solutions=kattis_judge.submissions(package),
            source=str(config.get("source", "") or f"Kattis package {pid}"),
            licence=str(config.get("license", "") or ""),
        )
    return [(pid, problem)]

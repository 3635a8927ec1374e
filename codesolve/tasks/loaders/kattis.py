"""Kattis / ICPC problem packages: a directory with ``problem.yaml`` and ``data/``.

* ``data/sample/*.in`` with ``.ans`` → public tests; ``data/secret/**/*.in``
  with ``.ans`` → hidden tests (sorted by path).
* Time limit: ``limits.time_limit`` (2023 format), else a ``.timelimit``
  file, else 2 s. Memory: ``limits.memory`` in MiB, else 2048 (the spec's default).
* ``validation: default`` compares tokens (the spec's default is
  case-insensitive, ours stays strict); ``validator_flags`` with
  ``float_tolerance``, ``float_absolute_tolerance`` or
  ``float_relative_tolerance`` selects the float checker.
* ``validation: custom`` uses the one source file under
  ``output_validators/<name>/`` (Python or C++) with the Kattis protocol;
  anything else leaves the checker missing (``checker_missing``).
  Interactive problems are refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from codesolve.errors import ProblemFormatError
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


def _limits(package: Path, config: Mapping[str, Any]) -> tuple[float, int]:
    limits = config.get("limits", {}) or {}
    if not isinstance(limits, Mapping):
        raise FieldError("limits", "expected a mapping")
    default_time = 2.0
    timelimit_file = package / ".timelimit"
    if timelimit_file.is_file():
        try:
            default_time = float(_read(timelimit_file, package).split()[0])
        except (ValueError, IndexError) as exc:
            raise FieldError(".timelimit", "not a number") from exc
    time_limit = _number(limits, "time_limit", "limits.time_limit", default_time)
    memory = _number(limits, "memory", "limits.memory", 2048)
    return time_limit, int(memory)


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


def _custom_checker(package: Path) -> CheckerConfig:
    root = package / "output_validators"
    dirs = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    files = sorted(p for p in dirs[0].rglob("*") if p.is_file()) if len(dirs) == 1 else []
    if len(files) == 1 and files[0].suffix in _VALIDATOR_LANGUAGES:
        origin = files[0].relative_to(package).as_posix()
        language = _VALIDATOR_LANGUAGES[files[0].suffix]
        return CheckerConfig(
            kind="program", program=_read(files[0], package), language=language, protocol="kattis", origin=origin
        )
    return CheckerConfig(kind="program", protocol="kattis", origin="output_validators/ (not usable as one source file)")


def _checker(package: Path, config: Mapping[str, Any]) -> CheckerConfig:
    validation = str(config.get("validation", "default"))
    if "interactive" in validation:
        raise FieldError("validation", "interactive problems are not supported")
    if validation.startswith("custom"):
        return _custom_checker(package)
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
        time_limit, memory = _limits(package, config)
        problem = CompetitiveProblem(
            id=pid,
            title=_title(config, pid),
            statement=_statement(package),
            public_tests=_tests(package, "sample"),
            hidden_tests=_tests(package, "secret"),
            time_limit_s=time_limit,
            memory_mb=memory,
            checker=_checker(package, config),
            source=str(config.get("source", "") or f"Kattis package {pid}"),
            licence=str(config.get("license", "") or ""),
        )
    return [(pid, problem)]

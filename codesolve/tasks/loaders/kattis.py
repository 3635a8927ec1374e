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

Every file is read through :class:`._package.Package`: a regular file whose
resolved path lies inside the package (links within the package are fine,
links out, FIFOs and devices are refused with one line naming the file).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from codesolve.errors import ProblemFormatError
from codesolve.tasks.loaders import _yaml, kattis_judge
from codesolve.tasks.loaders._io import FieldError, format_errors, yaml_reason
from codesolve.tasks.loaders._limits import excerpt, one_line
from codesolve.tasks.loaders._package import Package
from codesolve.tasks.models import CheckerConfig, CompetitiveProblem, TestSpec

NAME = "kattis"
_STATEMENTS = ("problem.en.md", "problem.md", "problem.en.tex", "problem.tex")
_FLOAT_FLAGS = {"float_tolerance", "float_absolute_tolerance", "float_relative_tolerance"}


def _read(path: Path | str, pkg: Package) -> str:
    """A text file of the package (UTF-8, inside the package; errors name the file)."""
    if pkg.kind(path) == "missing":
        raise pkg.refuse(path, "file missing")
    return pkg.read_text(path)


def _config(pkg: Package) -> Mapping[str, Any]:
    if pkg.kind("problem.yaml") == "missing":
        raise ProblemFormatError(str(pkg.path), None, None, "not a problem package: no problem.yaml")
    try:
        data = _yaml.load(pkg.read_text("problem.yaml"))
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        where, reason = yaml_reason(exc)
        raise ProblemFormatError(str(pkg.path / "problem.yaml"), where, None, one_line(f"bad YAML: {reason}")) from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ProblemFormatError(str(pkg.path / "problem.yaml"), None, None, "expected a mapping at the top level")
    return data


def _tests(pkg: Package, folder: str) -> list[TestSpec]:
    tests = []
    for stdin_path in pkg.files(f"data/{folder}", ".in"):
        answer = stdin_path.with_suffix(".ans")
        rel = stdin_path.relative_to("data").with_suffix("").as_posix()
        if pkg.kind(answer) == "missing":
            raise ProblemFormatError(str(pkg.path), f"data/{rel}.in", "ans", "no matching .ans file")
        sub = stdin_path.parent.relative_to("data").as_posix()
        tests.append(TestSpec(name=rel, stdin=_read(stdin_path, pkg), expected=_read(answer, pkg), group=sub))
    return tests


def _number(config: Mapping[str, Any], key: str, field: str, default: float) -> float:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FieldError(field, f"expected a number, got {type(value).__name__}")
    if not 0 < value < float("inf"):
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


def _checker(pkg: Package, config: Mapping[str, Any]) -> CheckerConfig:
    validation = config.get("validation", "default")
    if not isinstance(validation, str):
        raise FieldError("validation", f"expected a string, got {type(validation).__name__}")
    interactive = kattis_judge.is_interactive(pkg, config)
    if interactive or validation.startswith("custom"):
        return kattis_judge.validator(pkg, interactive)
    if validation != "default":
        raise FieldError("validation", f"unknown validation {excerpt(validation)}")
    flags = config.get("validator_flags", "") or ""
    if not isinstance(flags, str):
        raise FieldError("validator_flags", "expected a string")
    return _float_checker(flags) if _FLOAT_FLAGS & set(flags.split()) else CheckerConfig()


def _statement(pkg: Package) -> str:
    for folder in ("problem_statement", "statement"):
        for name in _STATEMENTS:
            path = f"{folder}/{name}"
            if pkg.kind(path) not in ("missing", "dir"):
                return _read(path, pkg)
    return ""


def _scalar_text(value: Any, field: str) -> str:
    # str() of a list or mapping from YAML could be huge (or an alias bomb): only scalars are text.
    if isinstance(value, (Mapping, list)):
        raise FieldError(field, f"expected text, got {type(value).__name__}")
    return str(value)


def _title(config: Mapping[str, Any], default: str) -> str:
    name = config.get("name", default)
    if isinstance(name, Mapping):  # {language: title}
        name = name.get("en", next(iter(name.values()), default))
    return _scalar_text(name, "name")


def load_package(package: Path) -> list[tuple[str, CompetitiveProblem]]:
    """The one problem of a package directory, labelled by its directory name."""
    pkg = Package(package)
    config = _config(pkg)
    pid = Path(pkg.root).name
    with format_errors(str(package / "problem.yaml"), pid):
        time_limit, time_origin, time_rule = kattis_judge.time_limit(pkg, config)
        problem = CompetitiveProblem(
            id=pid,
            title=_title(config, pid),
            statement=_statement(pkg),
            public_tests=_tests(pkg, "sample"),
            hidden_tests=_tests(pkg, "secret"),
            time_limit_s=time_limit,
            time_limit_origin=time_origin,
            time_limit_rule=time_rule,
            memory_mb=_memory(config),
            checker=_checker(pkg, config),
            solutions=kattis_judge.submissions(pkg),
            source=_scalar_text(config.get("source", "") or f"Kattis package {pid}", "source"),
            licence=_scalar_text(config.get("license", "") or "", "license"),
        )
    return [(pid, problem)]

"""What judging a Kattis package needs beyond its tests: its validator or interactor, its time
limit and its submissions, read the way problemtools reads them.

* **Validators.** A validator is a single file (``output_validators/check.py``)
  or a directory (``output_validators/<name>/``, or the 2023-07
  ``output_validator/``) holding every file of one program: all its C++
  sources are compiled together, with its headers beside them (problemtools'
  ``validate.cc`` + ``validate.h``); a Python one runs its ``validate.py`` or
  ``main.py`` (or its only ``.py`` file), the other files importable beside it.
* **Interactive problems** (``type: interactive``, or a list holding it, in
  the 2023-07 format; ``validation: custom interactive`` in the legacy one; or
  an ``interactor`` / ``interactors`` directory): the validator is an
  interactor, run beside the program over pipes (``kattis_interactive``);
  never a compare-the-output judge.
* **Time limits**, in problemtools' order: ``limits.time_limit`` (2023-07), the
  ``.timelimit`` file problemtools writes, else problemtools' rule (a multiple
  of the slowest accepted submission: ``limits.time_multiplier``, default 5,
  in the legacy format; ``limits.time_multipliers.ac_to_time_limit``, default
  2, rounded up to ``time_resolution``, in 2023-07), which the judge applies
  after timing the accepted submissions. The origin is kept and shown.
* **Submissions** (``submissions/accepted`` → ``correct``; ``wrong_answer``,
  ``time_limit_exceeded``, ``run_time_error`` → ``incorrect``), single files
  in Python or C++, so ``codesolve judge --solutions`` checks the judge on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from codesolve.tasks.loaders._io import FieldError
from codesolve.tasks.loaders._package import Package
from codesolve.tasks.models import CheckerConfig, ReferenceSolution, TimeLimitRule

_CPP = (".cpp", ".cc", ".cxx", ".c++")
_LANGUAGES = {".py": "python", **dict.fromkeys(_CPP, "cpp")}
_PY_ENTRIES = ("validate.py", "interactor.py", "main.py")
_CPP_ENTRIES = ("validate.cc", "validate.cpp", "interactor.cc", "interactor.cpp", "main.cpp", "main.cc")
_SUBMISSION_LABELS: dict[str, Literal["correct", "incorrect"]] = {
    "accepted": "correct",
    "wrong_answer": "incorrect",
    "time_limit_exceeded": "incorrect",
    "run_time_error": "incorrect",
}
_MAX_FILES = 64
DEFAULT_TIME_S = 2.0


def is_interactive(pkg: Package, config: Mapping[str, Any]) -> bool:
    """Whether the package is an interactive problem, in any of the forms problemtools knows."""
    kind = config.get("type", "")
    kinds = {str(k) for k in kind} if isinstance(kind, list) else set(str(kind).split())
    legacy = "interactive" in str(config.get("validation", "")).split()
    return "interactive" in kinds or legacy or any(pkg.is_dir(d) for d in ("interactor", "interactors"))


def validator(pkg: Package, interactive: bool) -> CheckerConfig:
    """The package's output validator (or interactor) as a checker program.

    Missing or unusable (several validators, an unknown language) leaves the
    checker missing, with ``origin`` saying what was found: never a silent
    fall-back to comparing outputs.
    """
    protocol: Literal["kattis", "kattis_interactive"] = "kattis_interactive" if interactive else "kattis"
    roots = ["interactor", "interactors"] if interactive else []
    roots += ["output_validators", "output_validator"]
    for root in roots:
        found = _program_in(pkg, Path(root))
        if found is not None:
            return found.model_copy(update={"protocol": protocol})
    what = "interactor" if interactive else "output validator"
    places = ", ".join(f"{root}/" for root in roots)
    return CheckerConfig(kind="program", protocol=protocol, origin=f"no usable {what} in any of {places}")


def _program_in(pkg: Package, root: Path) -> CheckerConfig | None:
    """One program in ``root``: a directory of the one validator's files, or its single file.

    Every name is a package path, listed and read through ``pkg`` (a link out of
    the package is refused, never followed).
    """
    if not pkg.is_dir(root):
        return None
    dirs = pkg.dirs(root)
    files = pkg.files(root)
    if len(dirs) > 1 or (dirs and any(p.parent == root for p in files)):
        return None  # several validators: problemtools runs them all; we judge with one or none
    if dirs:
        root = dirs[0]
        files = pkg.files(root)
    files = [p for p in files if pkg.is_file(p)][:_MAX_FILES]
    if not files:
        return None
    suffixes = {p.suffix for p in files}
    if suffixes & set(_CPP):
        entry = _entry(files, _CPP_ENTRIES, _CPP)
        language = "cpp"
    elif ".py" in suffixes:
        entry = _entry(files, _PY_ENTRIES, (".py",))
        language = "python"
    else:
        return None
    if entry is None:
        return None
    text = {p: pkg.read_text(p) for p in files}
    others = {p.relative_to(entry.parent).as_posix(): t for p, t in text.items() if p != entry and _inside(p, entry)}
    return CheckerConfig(
        kind="program",
        program=text[entry],
        language=language,
        entry_name=entry.name,
        files=others,
        origin=entry.as_posix() + (f" (+{len(others)} files)" if others else ""),
    )


def _inside(path: Path, entry: Path) -> bool:
    return entry.parent in path.parents


def _entry(files: list[Path], names: tuple[str, ...], suffixes: tuple[str, ...]) -> Path | None:
    """The conventional entry file, else the only source of the language."""
    for name in names:
        for path in files:
            if path.name == name:
                return path
    sources = [p for p in files if p.suffix in suffixes]
    if len(sources) == 1 or (sources and suffixes == _CPP):
        return sources[0]  # (C++: every source is compiled together, whichever is named first)
    return None


def time_limit(pkg: Package, config: Mapping[str, Any]) -> tuple[float, str, TimeLimitRule | None]:
    """The time limit, where it came from, and problemtools' rule when the package states none."""
    limits = config.get("limits", {}) or {}
    if not isinstance(limits, Mapping):
        raise FieldError("limits", "expected a mapping")
    if "time_limit" in limits:
        return _positive(limits["time_limit"], "limits.time_limit"), "problem.yaml limits.time_limit", None
    if pkg.kind(".timelimit") not in ("missing", "dir"):
        try:
            value = float(pkg.read_text(".timelimit")[:100].split()[0])
        except (ValueError, IndexError) as exc:
            raise FieldError(".timelimit", "not a number") from exc
        return _positive(value, ".timelimit"), ".timelimit (written by problemtools)", None
    multipliers = limits.get("time_multipliers")
    if isinstance(multipliers, Mapping) or "time_resolution" in limits:  # the 2023-07 format
        factors = multipliers if isinstance(multipliers, Mapping) else {}
        multiplier = _positive(factors.get("ac_to_time_limit", 2.0), "limits.time_multipliers.ac_to_time_limit")
        resolution = _positive(limits.get("time_resolution", 1.0), "limits.time_resolution")
        rule = TimeLimitRule(multiplier=multiplier, resolution=resolution, legacy=False)
    else:
        rule = TimeLimitRule(multiplier=_positive(limits.get("time_multiplier", 5), "limits.time_multiplier"))
    return DEFAULT_TIME_S, f"{DEFAULT_TIME_S:g} s until the accepted submissions are timed", rule


def _positive(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FieldError(field, f"expected a number, got {type(value).__name__}")
    if not value > 0:
        raise FieldError(field, f"must be positive, got {value:g}")
    return float(value)


def submissions(pkg: Package) -> list[ReferenceSolution]:
    """The package's single-file Python and C++ submissions, labelled by their folder."""
    found: list[ReferenceSolution] = []
    for folder, label in _SUBMISSION_LABELS.items():
        root = Path("submissions", folder)
        for path in pkg.files(root):
            language = _LANGUAGES.get(path.suffix)
            if path.parent == root and language is not None and pkg.is_file(path):
                code = pkg.read_text(path)
                found.append(ReferenceSolution(language=language, code=code, label=label, origin=path.as_posix()))
    return found

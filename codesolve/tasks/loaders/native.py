"""codesolve's own format: dumps of the models, as JSONL, JSON or YAML (optionally gzipped).

Each record is one problem with its ``kind`` (``competitive``,
``function_fix`` or ``swe``); fields are exactly the models' fields, and
unknown fields are errors. :func:`dump_problems` writes what
:func:`load_problems` reads back identically.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from codesolve.tasks.loaders._fields import MAX_ITEMS
from codesolve.tasks.loaders._io import FieldError, base_suffix
from codesolve.tasks.loaders._limits import excerpt
from codesolve.tasks.loaders._package import check_record_path, check_repo_source
from codesolve.tasks.models import CompetitiveProblem, FunctionFixTask, Problem, SweInstance

NAME = "codesolve"


def detect(record: Mapping[str, Any]) -> bool:
    """Our own records always say which kind they are."""
    return "kind" in record


_KINDS: dict[str, type[CompetitiveProblem | FunctionFixTask | SweInstance]] = {
    "competitive": CompetitiveProblem,
    "function_fix": FunctionFixTask,
    "swe": SweInstance,
}


def convert(record: Mapping[str, Any], path: Path) -> Problem:
    """Validate one record against the model its ``kind`` names (errors name the model field)."""
    kind = record.get("kind")
    model = _KINDS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise FieldError("kind", f"unknown kind {excerpt(kind)}; expected one of {', '.join(_KINDS)}")
    for key, value in record.items():
        if isinstance(value, list) and len(value) > MAX_ITEMS:
            raise FieldError(str(key), f"more than {MAX_ITEMS} items")
    problem = model.model_validate(record)
    _check_paths(problem, path.parent)
    return problem


def _check_paths(problem: Problem, folder: Path) -> None:
    """Paths a record names must stay inside the problem file's directory (and URLs be https)."""
    try:
        if isinstance(problem, FunctionFixTask):
            check_record_path(folder, problem.repo_path, "repo_path")
        elif isinstance(problem, SweInstance):
            check_repo_source(folder, problem.repo_source)
    except ValueError as exc:
        field, _, reason = str(exc).partition(": ")
        raise FieldError(field, reason) from None


def problem_record(problem: Problem) -> dict[str, Any]:
    """The plain-data form of ``problem`` (defaults left out to keep files small)."""
    data: dict[str, Any] = problem.model_dump(mode="json", exclude_defaults=True)
    return {"kind": problem.kind, **data}  # the discriminator first, and always present


class _Dumper(yaml.SafeDumper):
    """Safe dumper that writes multi-line strings as ``|`` blocks, so statements stay readable."""


_YAML_BREAKS = ("\r", "\x85", "\u2028", "\u2029")


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style: str | None = None
    if any(c in value for c in _YAML_BREAKS):
        style = '"'  # other YAML line breaks are normalised unless escaped in double quotes
    elif "\n" in value:
        style = "|"  # PyYAML itself falls back to quoting when a block cannot hold the text exactly
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def dumps_yaml(problems: Iterable[Problem]) -> str:
    """YAML text: a list of problem mappings."""
    records = [problem_record(p) for p in problems]
    return yaml.dump(records, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120)


def dumps_jsonl(problems: Iterable[Problem]) -> str:
    """JSONL text: one problem per line."""
    return "".join(json.dumps(problem_record(p), ensure_ascii=False) + "\n" for p in problems)


def dump_problems(problems: Iterable[Problem], path: Path) -> None:
    """Write ``problems`` to ``path``: YAML for ``.yaml``/``.yml``, else JSONL; gzipped for ``.gz``."""
    text = dumps_yaml(problems) if base_suffix(path) in (".yaml", ".yml") else dumps_jsonl(problems)
    data = text.encode("utf-8")
    if path.name.lower().endswith(".gz"):
        data = gzip.compress(data, mtime=0)  # mtime 0: the same problems give the same bytes
    path.write_bytes(data)

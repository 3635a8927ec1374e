"""The format table, format detection, and the one loading loop every format shares.

Detection, in order:

1. a directory is a Kattis problem package (it must hold ``problem.yaml``);
2. a ``.yaml``/``.yml`` file (``.gz`` ignored) is codesolve's own format;
3. any other file is read as records (JSON for ``.json``, CSV for ``.csv``,
   JSONL otherwise), and the first record's keys pick the format: the first
   entry of :data:`FORMATS` whose ``detect`` accepts them.

``format=`` overrides detection. Records that repeat an id are dropped when
they are identical to the first (the MapCoder APPS file repeats 22 records)
and are an error otherwise.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codesolve.errors import ProblemFormatError
from codesolve.tasks.loaders import (
    apps,
    code_contests,
    evalplus,
    humaneval,
    kattis,
    kickstart,
    leetcode,
    livecodebench,
    native,
    quixbugs,
    swebench,
)
from codesolve.tasks.loaders._io import Source, base_suffix, format_errors, record_label
from codesolve.tasks.loaders._limits import decode_budget, excerpt
from codesolve.tasks.loaders._scrub import scrubbed
from codesolve.tasks.models import Problem

Converter = Callable[[Mapping[str, Any], Path], Problem]


@dataclass(frozen=True)
class Format:
    """One input format: how to recognise a record of it and how to turn a record into a problem."""

    name: str
    summary: str
    detect: Callable[[Mapping[str, Any]], bool] | None = None
    convert: Converter | None = None
    load_dir: Callable[[Path], list[tuple[str, Any]]] | None = None


FORMATS: dict[str, Format] = {
    fmt.name: fmt
    for fmt in (
        Format(native.NAME, "codesolve's own JSONL/JSON/YAML dumps", native.detect, native.convert),
        Format(swebench.NAME, "SWE-bench instances (JSON, JSONL, CSV)", swebench.detect, swebench.convert),
        Format(livecodebench.NAME, "LiveCodeBench code_generation_lite", livecodebench.detect, livecodebench.convert),
        Format(leetcode.NAME, "LeetCodeDataset (newfacade)", leetcode.detect, leetcode.convert),
        Format(evalplus.NAME, "HumanEval+ / MBPP+ (EvalPlus)", evalplus.detect, evalplus.convert),
        Format(humaneval.NAME, "HumanEval", humaneval.detect, humaneval.convert),
        Format(humaneval.MBPP, "MBPP (original)", humaneval.detect_mbpp, humaneval.convert_mbpp),
        Format(code_contests.NAME, "CodeContests (HF or SandboxFusion)", code_contests.detect, code_contests.convert),
        Format(apps.NAME, "APPS (original or MapCoder layout)", apps.detect, apps.convert),
        Format(kickstart.NAME, "Kick Start / Code Jam to I/O", kickstart.detect, kickstart.convert),
        Format(quixbugs.NAME, "QuixBugs (Python)", quixbugs.detect, quixbugs.convert),
        Format(kattis.NAME, "Kattis / ICPC problem package directory", load_dir=kattis.load_package),
    )
}
"""Every format by name, in detection order."""

ALIASES = {
    "native": "codesolve",
    "codecontests": "code_contests",
    "code-contests": "code_contests",
    "lcb": "livecodebench",
    "humaneval+": "evalplus",
    "mbpp+": "evalplus",
    "swe-bench": "swebench",
    "swe_bench": "swebench",
    "icpc": "kattis",
    "codejam": "kickstart",
}


@dataclass(frozen=True)
class LoadResult:
    """What one file held, and what loading it dropped."""

    path: Path
    format: str
    problems: list[Problem]
    duplicates_dropped: int = 0


def resolve_format(name: str, path: Path) -> Format:
    """The format called ``name`` (or an alias), or a one-line error listing the known ones."""
    key = ALIASES.get(name.lower(), name.lower())
    if key not in FORMATS:
        known = ", ".join(FORMATS)
        raise ProblemFormatError(str(path), None, None, f"unknown format {excerpt(name)}; known: {known}")
    return FORMATS[key]


def detect_format(path: Path | str) -> str:
    """Name of the format of ``path`` (see the module docstring for the rules)."""
    path = Path(path)
    if not path.exists():
        raise ProblemFormatError(str(path), None, None, "no such file or directory")
    if path.is_dir():
        return kattis.NAME
    return _detect_file(Source(path)).name


def _detect_file(source: Source) -> Format:
    if base_suffix(source.path) in (".yaml", ".yml"):
        return FORMATS[native.NAME]
    label, first = _first(source)
    return _detect_record(source, label, first)


def _first(source: Source) -> tuple[str, Any]:
    first = next(iter(source.records()), None)
    if first is None:
        raise source.fail(None, None, "holds no problems")
    return first


def _detect_record(source: Source, label: str, record: Any) -> Format:
    if not isinstance(record, Mapping):
        raise source.fail(label, None, f"a record must be an object, got {type(record).__name__}")
    for fmt in FORMATS.values():
        if fmt.detect is not None and fmt.detect(record):
            return fmt
    keys = ", ".join(excerpt(key) for key in itertools.islice(record, 12))
    raise source.fail(label, None, f"cannot tell the format from the fields ({keys}); pass --format")


def _converted(source: Source, fmt: Format) -> Iterator[tuple[str, Problem]]:
    records = source.records()
    first = next(records, None)
    if first is None:
        raise source.fail(None, None, "holds no problems")
    convert = fmt.convert
    if convert is None:  # pragma: no cover - every file format has a converter
        raise source.fail(None, None, f"format {fmt.name!r} cannot read files")
    for label, raw in itertools.chain([first], records):
        where = record_label(label, raw)
        if not isinstance(raw, Mapping):
            raise source.fail(where, None, f"a record must be an object, got {type(raw).__name__}")
        with format_errors(str(source.path), where):
            yield where, scrubbed(convert(raw, source.path))


def _loaded(path: Path, format: str | None) -> tuple[Format, Iterator[tuple[str, Problem]]]:
    fmt = resolve_format(format, path) if format else None
    if path.is_dir():
        fmt = fmt or FORMATS[kattis.NAME]
        if fmt.load_dir is None:
            raise ProblemFormatError(str(path), None, None, f"is a directory; format {fmt.name!r} reads files")
        return fmt, ((label, scrubbed(problem)) for label, problem in fmt.load_dir(path))
    source = Source(path)
    fmt = fmt or _detect_file(source)
    if fmt.load_dir is not None:
        raise ProblemFormatError(str(path), None, None, f"format {fmt.name!r} reads a package directory")
    return fmt, _converted(source, fmt)


def read_problems(path: Path | str, format: str | None = None) -> LoadResult:
    """Load every problem in ``path`` (a file, possibly gzipped, or a package directory).

    Whatever the file holds, loading decodes at most a bounded multiple of
    its size (:mod:`._limits`), and every text is valid Unicode afterwards
    (:func:`codesolve.tasks.models.scrubbed`).
    """
    path = Path(path)
    if not path.exists():
        raise ProblemFormatError(str(path), None, None, "no such file or directory")
    with decode_budget(_size_on_disk(path)):
        fmt, loaded = _loaded(path, format)
        seen: dict[str, tuple[str, Problem]] = {}
        dropped = 0
        for label, problem in loaded:
            if problem.id in seen:
                first_label, first = seen[problem.id]
                if first != problem:
                    problem_text = f"duplicate id {excerpt(problem.id)} (first at {first_label}) with different content"
                    raise ProblemFormatError(str(path), label, "id", problem_text)
                dropped += 1
                continue
            seen[problem.id] = (label, problem)
    return LoadResult(path, fmt.name, [p for _, p in seen.values()], dropped)


def _size_on_disk(path: Path) -> int:
    try:
        return 0 if path.is_dir() else path.stat().st_size
    except OSError:
        return 0

"""Problems streamed out of files, one record at a time, for batches.

JSONL files (gzipped or not) are read line by line, so a batch never holds a
whole benchmark in memory. Other layouts (JSON arrays, YAML, CSV, Kattis
package directories) are parsed per file, then converted record by record.
A malformed record does not stop the stream: it comes out as an
:class:`Item` with an ``error``, and the batch records it as a failed problem.
What cannot be read at all (a missing file, an unknown format) is bad input,
raised before anything runs.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from codesolve.errors import ProblemFormatError
from codesolve.tasks.loaders._io import Source, base_suffix, format_errors, record_label
from codesolve.tasks.loaders._limits import DecodeBudget, InflateError, excerpt, one_line
from codesolve.tasks.loaders._registry import FORMATS, Format, resolve_format
from codesolve.tasks.loaders._scrub import scrubbed
from codesolve.tasks.loaders.load import load_problems
from codesolve.tasks.models import Problem

_STREAMED = ("", ".jsonl", ".ndjson", ".txt")


@dataclass(frozen=True)
class Item:
    """One record of the stream: a problem, or why its record could not be read."""

    source: str
    """``file: line 12 (id 'X')``."""
    id: str
    problem: Problem | None
    error: str = ""


_MAX_LINE = 64 << 20
"""Longest JSONL record streamed (a larger one is that record's error, never a whole-file read)."""


def _open(path: Path) -> IO[bytes]:
    # A regular file only (a FIFO would block the batch before it starts), never blocking on open.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise ProblemFormatError(str(path), None, None, "not a regular file")
    handle = os.fdopen(fd, "rb")
    if handle.read(2) == b"\x1f\x8b":
        handle.seek(0)
        return cast(IO[bytes], gzip.GzipFile(fileobj=handle, mode="rb"))
    handle.seek(0)
    return handle


def _jsonl(path: Path) -> Iterator[tuple[str, Any]]:
    # Yields (label, record) or (label, exception) for a line that is not JSON. Decoded bytes are
    # charged to the loaders' decode budget as they stream (a small .gz cannot become gigabytes).
    budget = DecodeBudget.for_size(path.stat().st_size)
    with _open(path) as handle:
        number = 0
        while raw := handle.readline(_MAX_LINE + 1):
            number += 1
            try:
                budget.charge(len(raw))
            except InflateError as exc:
                raise ProblemFormatError(str(path), f"line {number}", None, str(exc)) from None
            if len(raw) > _MAX_LINE and not raw.endswith(b"\n"):
                yield f"line {number}", ValueError(f"record longer than {_MAX_LINE} bytes")
                while (rest := handle.readline(_MAX_LINE)) and not rest.endswith(b"\n"):
                    budget.charge(len(rest))
                continue
            try:
                line = raw.decode("utf-8").removeprefix("\ufeff") if number == 1 else raw.decode("utf-8")
                if line.strip():
                    yield f"line {number}", json.loads(line)
            except (UnicodeDecodeError, ValueError, RecursionError) as exc:
                yield f"line {number}", ValueError(f"bad JSON or text: {one_line(str(exc), 120)}")


def _records(path: Path) -> Iterator[tuple[str, Any]]:
    if base_suffix(path) in _STREAMED:
        return _jsonl(path)
    return Source(path).records()


def _detect(path: Path, format: str | None) -> Format:
    if format:
        return resolve_format(format, path)
    for label, record in _records(path):
        if isinstance(record, Mapping):
            for fmt in FORMATS.values():
                if fmt.detect is not None and fmt.detect(record):
                    return fmt
            keys = ", ".join(sorted(map(str, record))[:12])
            raise ProblemFormatError(str(path), label, None, f"cannot tell the format from the fields ({keys})")
    raise ProblemFormatError(str(path), None, None, "holds no readable problem records")


def check_sources(paths: list[Path], format: str | None) -> dict[Path, Format | None]:
    """Each file's format (``None`` for a package directory); bad input is raised here, before any work."""
    found: dict[Path, Format | None] = {}
    for path in paths:
        if not path.exists():
            raise ProblemFormatError(str(path), None, None, "no such file or directory")
        found[path] = None if path.is_dir() else _detect(path, format)
    return found


def _converted(path: Path, fmt: Format) -> Iterator[Item]:
    convert = fmt.convert
    if convert is None:
        raise ProblemFormatError(str(path), None, None, f"format {fmt.name!r} reads package directories")
    for label, raw in _records(path):
        where = record_label(label, raw)
        fallback = f"{path.name}:{where}"
        if isinstance(raw, Exception):
            yield Item(f"{path}: {where}", fallback, None, f"{path}: record {where}: {raw}")
            continue
        try:
            if not isinstance(raw, Mapping):
                kind = type(raw).__name__
                raise ProblemFormatError(str(path), where, None, f"a record must be an object, not {kind}")
            with format_errors(str(path), where):
                problem = scrubbed(convert(raw, path))
        except ProblemFormatError as exc:
            yield Item(f"{path}: {where}", _raw_id(raw) or fallback, None, str(exc))
            continue
        yield Item(f"{path}: {where}", problem.id, problem)


def _raw_id(raw: Any) -> str | None:
    if isinstance(raw, Mapping):
        for key in ("id", "task_id", "instance_id", "problem_id", "question_id", "name"):
            value = raw.get(key)
            if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
                return str(value)
    return None


def stream_problems(paths: list[Path], format: str | None = None) -> Iterator[Item]:
    """Every record of every file, in order; a repeated id is dropped when identical, an error otherwise."""
    formats = check_sources(paths, format)
    seen: dict[str, str] = {}
    for path, fmt in formats.items():
        items = (Item(str(path), p.id, p) for p in load_problems(path)) if fmt is None else _converted(path, fmt)
        for item in items:
            if item.problem is None:
                yield item
                continue
            digest = hashlib.sha256(item.problem.model_dump_json().encode()).hexdigest()
            first = seen.setdefault(item.id, digest)
            if first is digest:
                yield item
            elif first != digest:
                reason = f"{item.source}: duplicate id {excerpt(item.id)} with different content"
                yield Item(item.source, f"{item.id} (duplicate at {item.source})", None, reason)


def count_records(paths: list[Path]) -> int | None:
    """Records in the files, counted without parsing (JSONL only; ``None`` when another layout is among them)."""
    total = 0
    for path in paths:
        if path.is_dir() or base_suffix(path) not in _STREAMED:
            return None
        with _open(path) as handle:
            total += sum(1 for line in handle if line.strip())
    return total

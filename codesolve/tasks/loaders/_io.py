"""Reading problem files: gzip, strict UTF-8, and records out of JSONL, JSON, YAML and CSV.

Every failure here becomes a :class:`ProblemFormatError` naming the file and,
where one is known, the record (``line 12``, ``item 3``, ``document 2``,
``row 5``). Loaders raise :class:`FieldError` for a bad field; the registry
adds the file and the record.
"""

from __future__ import annotations

import csv
import json
import os
import stat
import sys
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from codesolve.errors import ProblemFormatError
from codesolve.tasks.loaders import _yaml
from codesolve.tasks.loaders._limits import MAX_BYTES, InflateError, exception_text, excerpt, inflate, one_line
from codesolve.tasks.models import InvalidField

_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = zlib.MAX_WBITS | 32  # zlib reads the gzip header itself


class FieldError(Exception):
    """A record's field is missing or malformed (file and record are added by the caller)."""

    def __init__(self, field: str | None, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


FIELD_CHARS = 60
"""The most of one field name an error message quotes: an unknown key is the record's own text."""


def _loc(parts: tuple[int | str, ...]) -> str:
    text = ""
    for part in parts:
        name = part[: FIELD_CHARS - 1] + "…" if isinstance(part, str) and len(part) > FIELD_CHARS else part
        text += f"[{name}]" if isinstance(name, int) else (f".{name}" if text else str(name))
    return text


def validation_field(error: Mapping[str, Any]) -> tuple[str | None, str]:
    """Field path and message of one pydantic error (cross-field rules name their own field)."""
    loc = _loc(tuple(p for p in error.get("loc", ()) if isinstance(p, (int, str))))
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, InvalidField):
        return (f"{loc}.{cause.field}" if loc else cause.field), cause.problem
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "literal_error":
        message = f"{message} (got {excerpt(error.get('input'))})"
    return loc or None, message


@contextmanager
def format_errors(path: str, record: str | None) -> Iterator[None]:
    """Turn field, validation and structure errors raised inside into one-line ProblemFormatErrors."""
    try:
        yield
    except FieldError as exc:
        raise ProblemFormatError(path, record, exc.field, one_line(exc.problem)) from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        field, message = validation_field(first)
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ProblemFormatError(path, record, field, one_line(message) + more) from exc
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as exc:
        # The data is untrusted: a shape no loader anticipated must not become a traceback.
        # The message is built from excerpts: str() of a key or value could be gigabytes.
        raise ProblemFormatError(path, record, None, one_line(f"malformed record ({exception_text(exc)})")) from exc


def base_suffix(path: Path) -> str:
    """The file's extension with a trailing ``.gz`` ignored, lower-cased (``.jsonl``)."""
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return Path(name).suffix


@dataclass
class Source:
    """One problem file: its bytes read once, decompressed and decoded lazily."""

    path: Path
    _text: str | None = field(default=None, repr=False)

    def fail(self, record: str | None, field_name: str | None, problem: str) -> ProblemFormatError:
        """A :class:`ProblemFormatError` about this file."""
        return ProblemFormatError(str(self.path), record, field_name, one_line(problem))

    def raw_bytes(self) -> bytes:
        """The file's bytes, gunzipped (within the load's decode budget) when they start with the gzip magic."""
        data = read_capped(self.path, self.fail)
        if data.startswith(_GZIP_MAGIC):
            try:
                data = inflate(data, _GZIP_WBITS)
            except InflateError as exc:
                reason = f"corrupt or truncated gzip data: {exc}" if exc.corrupt else str(exc)
                raise self.fail(None, None, reason) from None
        return data

    @property
    def text(self) -> str:
        """The decoded text (strict UTF-8; a leading byte-order mark is dropped)."""
        if self._text is None:
            self._text = decode_text(self.raw_bytes(), str(self.path))
        return self._text

    def records(self) -> Iterator[tuple[str, Any]]:
        """Every record with its label, by the file's extension (JSONL when unknown)."""
        suffix = base_suffix(self.path)
        if suffix in (".yaml", ".yml"):
            return self._yaml_records()
        if suffix == ".json":
            return self._json_records()
        if suffix == ".csv":
            return self._csv_records()
        return self._jsonl_records()

    def _jsonl_records(self) -> Iterator[tuple[str, Any]]:
        for number, line in enumerate(lines(self.text), start=1):
            if not line.strip():
                continue
            try:
                yield f"line {number}", json.loads(line)
            except (ValueError, RecursionError) as exc:
                raise self.fail(f"line {number}", None, f"bad JSON: {_json_reason(exc)}") from None

    def _json_records(self) -> Iterator[tuple[str, Any]]:
        try:
            data = json.loads(self.text)
        except json.JSONDecodeError as exc:
            raise self.fail(f"line {exc.lineno}", None, f"bad JSON: {exc.msg} (column {exc.colno})") from None
        except (ValueError, RecursionError) as exc:
            raise self.fail(None, None, f"bad JSON: {_json_reason(exc)}") from None
        items = data if isinstance(data, list) else [data]
        for number, item in enumerate(items, start=1):
            yield f"item {number}", item

    def _yaml_records(self) -> Iterator[tuple[str, Any]]:
        try:
            documents = _yaml.load_all(self.text)
        except (yaml.YAMLError, ValueError, RecursionError) as exc:
            where, reason = yaml_reason(exc)
            raise self.fail(where, None, f"bad YAML: {reason}") from None
        documents = [d for d in documents if d is not None]
        for doc_number, document in enumerate(documents, start=1):
            prefix = f"document {doc_number}, " if len(documents) > 1 else ""
            items = document if isinstance(document, list) else [document]
            for number, item in enumerate(items, start=1):
                yield f"{prefix}item {number}", item

    def _csv_records(self) -> Iterator[tuple[str, Any]]:
        # SWE-bench rows carry whole patches; the csv module's default field cap is 128 KiB.
        csv.field_size_limit(max(csv.field_size_limit(), min(sys.maxsize, MAX_BYTES)))
        reader = csv.DictReader(self.text.splitlines(keepends=True))
        try:
            for number, row in enumerate(reader, start=1):
                if None in row:
                    raise self.fail(f"row {number}", None, "more cells than header columns")
                yield f"row {number}", row
        except csv.Error as exc:
            raise self.fail(f"line {reader.line_num}", None, f"bad CSV: {exc}") from exc


def _json_reason(exc: Exception) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"{exc.msg} (column {exc.colno})"
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    return one_line(str(exc), 120)  # e.g. an integer of more digits than Python converts


def yaml_reason(exc: BaseException) -> tuple[str | None, str]:
    """The record label (``line N``) and a one-line reason for a YAML failure."""
    if isinstance(exc, _yaml.YamlLimitError):
        return (f"line {exc.line}" if exc.line else None), exc.problem
    if isinstance(exc, RecursionError):
        return None, "nested too deeply"
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}" if mark is not None else None
    reason = getattr(exc, "problem", None) or exception_text(exc)
    return where, one_line(str(reason), 160)


def read_capped(path: Path, fail: Any) -> bytes:
    """The bytes of a regular file, at most :data:`MAX_BYTES` (never blocking on a FIFO or device)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise fail(None, None, f"cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise fail(None, None, "not a regular file")
        if info.st_size > MAX_BYTES:
            raise fail(None, None, f"larger than {MAX_BYTES} bytes")
        chunks, size = [], 0
        while chunk := os.read(fd, 1 << 20):
            size += len(chunk)
            if size > MAX_BYTES:
                raise fail(None, None, f"larger than {MAX_BYTES} bytes")
            chunks.append(chunk)
    except OSError as exc:
        raise fail(None, None, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return b"".join(chunks)


def decode_text(data: bytes, where: str) -> str:
    """Strict UTF-8 text of ``data`` with a leading byte-order mark dropped; errors name ``where``."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 1].hex()
        problem = f"not UTF-8: byte 0x{bad} at offset {exc.start}"
        raise ProblemFormatError(where, f"line {line}", None, problem) from None


def lines(text: str) -> Iterator[str]:
    """The lines of ``text`` split on ``\\n`` only, one at a time (no list of every line at once)."""
    start = 0
    while start <= len(text):
        end = text.find("\n", start)
        if end < 0:
            end = len(text)
        yield text[start:end]
        start = end + 1


def record_label(label: str, record: Any, id_keys: tuple[str, ...] = ()) -> str:
    """``label`` plus the record's id when one of the usual id fields holds a short scalar."""
    if isinstance(record, Mapping):
        for key in (*id_keys, "id", "instance_id", "task_id", "problem_id", "question_id", "name"):
            value = record.get(key)
            if isinstance(value, (str, int)) and not isinstance(value, bool) and len(str(value)) <= 80:
                return f"{label} (id {str(value)!r})"
    return label

"""Reading problem files: gzip, strict UTF-8, and records out of JSONL, JSON, YAML and CSV.

Every failure here becomes a :class:`ProblemFormatError` naming the file and,
where one is known, the record (``line 12``, ``item 3``, ``document 2``,
``row 5``). Loaders raise :class:`FieldError` for a bad field; the registry
adds the file and the record.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
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
from codesolve.tasks.models import InvalidField

MAX_BYTES = 1 << 30
"""Largest (decompressed) problem file we read; a bigger one is refused rather than exhausting memory."""

_GZIP_MAGIC = b"\x1f\x8b"


class FieldError(Exception):
    """A record's field is missing or malformed (file and record are added by the caller)."""

    def __init__(self, field: str | None, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field}: {problem}")


def _loc(parts: tuple[int | str, ...]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def validation_field(error: Mapping[str, Any]) -> tuple[str | None, str]:
    """Field path and message of one pydantic error (cross-field rules name their own field)."""
    loc = _loc(tuple(p for p in error.get("loc", ()) if isinstance(p, (int, str))))
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, InvalidField):
        return (f"{loc}.{cause.field}" if loc else cause.field), cause.problem
    message = str(error.get("msg", "invalid"))
    if error.get("type") == "literal_error":
        message = f"{message} (got {error.get('input')!r})"
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
        reason = f"{type(exc).__name__}: {exc}"
        raise ProblemFormatError(path, record, None, one_line(f"malformed record ({reason})")) from exc


def one_line(text: str, limit: int = 200) -> str:
    """Collapse whitespace so an error message stays on one line, and cap its length."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


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
        """The file's bytes, gunzipped when they start with the gzip magic number."""
        try:
            with self.path.open("rb") as handle:
                data = handle.read(MAX_BYTES + 1)
        except OSError as exc:
            raise self.fail(None, None, f"cannot read: {exc.strerror or exc}") from exc
        if data.startswith(_GZIP_MAGIC):
            data = self._gunzip(data)
        if len(data) > MAX_BYTES:
            raise self.fail(None, None, f"larger than {MAX_BYTES} bytes")
        return data

    def _gunzip(self, data: bytes) -> bytes:
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
                return handle.read(MAX_BYTES + 1)
        except (EOFError, OSError, zlib.error) as exc:
            raise self.fail(None, None, f"corrupt or truncated gzip data: {exc}") from exc

    @property
    def text(self) -> str:
        """The decoded text (strict UTF-8; a leading byte-order mark is dropped)."""
        if self._text is None:
            data = self.raw_bytes()
            try:
                self._text = data.decode("utf-8").removeprefix("\ufeff")
            except UnicodeDecodeError as exc:
                line = data[: exc.start].count(b"\n") + 1
                bad = data[exc.start : exc.start + 1].hex()
                raise self.fail(f"line {line}", None, f"not UTF-8: byte 0x{bad} at offset {exc.start}") from exc
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
        for number, line in enumerate(self.text.split("\n"), start=1):
            if not line.strip():
                continue
            try:
                yield f"line {number}", json.loads(line)
            except (json.JSONDecodeError, RecursionError) as exc:
                raise self.fail(f"line {number}", None, f"bad JSON: {_json_reason(exc)}") from exc

    def _json_records(self) -> Iterator[tuple[str, Any]]:
        try:
            data = json.loads(self.text)
        except json.JSONDecodeError as exc:
            raise self.fail(f"line {exc.lineno}", None, f"bad JSON: {exc.msg} (column {exc.colno})") from exc
        except RecursionError as exc:
            raise self.fail(None, None, "bad JSON: nested too deeply") from exc
        items = data if isinstance(data, list) else [data]
        for number, item in enumerate(items, start=1):
            yield f"item {number}", item

    def _yaml_records(self) -> Iterator[tuple[str, Any]]:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # never yaml.Loader: no object tags
        try:
            documents = list(yaml.load_all(self.text, Loader=loader))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f"line {mark.line + 1}" if mark is not None else None
            reason = getattr(exc, "problem", None) or str(exc)
            raise self.fail(where, None, f"bad YAML: {reason}") from exc
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
    return "nested too deeply"


def record_label(label: str, record: Any, id_keys: tuple[str, ...] = ()) -> str:
    """``label`` plus the record's id when one of the usual id fields holds a short scalar."""
    if isinstance(record, Mapping):
        for key in (*id_keys, "id", "instance_id", "task_id", "problem_id", "question_id", "name"):
            value = record.get(key)
            if isinstance(value, (str, int)) and not isinstance(value, bool) and len(str(value)) <= 80:
                return f"{label} (id {str(value)!r})"
    return label

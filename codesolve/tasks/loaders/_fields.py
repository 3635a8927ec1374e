"""Typed access to a raw record's fields; every mistake becomes a :class:`FieldError` naming the field."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from codesolve.tasks.loaders._io import FieldError
from codesolve.tasks.loaders._limits import one_line

_MISSING = object()
MAX_ITEMS = 50_000
"""Most items in one list field (tests, cases, inputs): real records hold at most a few thousand.

Checked before any item is converted, so a record cannot make a loader build
a quarter of a million tests from a megabyte.
"""


def _get(record: Mapping[str, Any], key: str, default: Any, name: str | None = None) -> Any:
    value = record.get(key, _MISSING)
    if value is _MISSING:
        if default is _MISSING:
            raise FieldError(name or key, "missing")
        return default
    return value


def _get_or_default(record: Mapping[str, Any], key: str, default: Any, name: str | None = None) -> Any:
    # A null field counts as missing when there is a default to fall back on.
    value = _get(record, key, default, name)
    return default if value is None and default is not _MISSING else value


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def text(record: Mapping[str, Any], key: str, default: Any = _MISSING, *, name: str | None = None) -> str:
    """A string field (``None`` counts as missing when a default is given)."""
    value = _get_or_default(record, key, default, name)
    if not isinstance(value, str):
        raise FieldError(name or key, f"expected a string, got {_kind(value)}")
    return value


def nonempty_text(record: Mapping[str, Any], key: str, *, name: str | None = None) -> str:
    """A string field that must not be blank."""
    value = text(record, key, name=name)
    if not value.strip():
        raise FieldError(name or key, "is empty")
    return value


def identifier(record: Mapping[str, Any], key: str, *, name: str | None = None) -> str:
    """An id field: a non-blank string or an integer, as text."""
    value = _get(record, key, _MISSING, name)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise FieldError(name or key, f"expected a non-empty string or integer id, got {_kind(value)}")
    return str(value).strip()


def seq(record: Mapping[str, Any], key: str, default: Any = _MISSING, *, name: str | None = None) -> list[Any]:
    """A list field (``None`` counts as missing when a default is given)."""
    value = _get_or_default(record, key, default, name)
    if not isinstance(value, list):
        raise FieldError(name or key, f"expected a list, got {_kind(value)}")
    if len(value) > MAX_ITEMS:
        raise FieldError(name or key, f"more than {MAX_ITEMS} items")
    return value


def mapping(
    record: Mapping[str, Any], key: str, default: Any = _MISSING, *, name: str | None = None
) -> Mapping[str, Any]:
    """An object field (``None`` counts as missing when a default is given)."""
    value = _get_or_default(record, key, default, name)
    if not isinstance(value, Mapping):
        raise FieldError(name or key, f"expected an object, got {_kind(value)}")
    return value


def number(record: Mapping[str, Any], key: str, default: Any = _MISSING, *, name: str | None = None) -> float:
    """A numeric field (not a bool)."""
    value = _get(record, key, default, name)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FieldError(name or key, f"expected a number, got {_kind(value)}")
    return float(value)


def positive(value: float, field: str) -> float:
    """``value`` itself when it is > 0."""
    if not value > 0:
        raise FieldError(field, f"must be positive, got {value:g}")
    return value


def json_text(record: Mapping[str, Any], key: str, *, name: str | None = None) -> Any:
    """A field holding JSON inside a string (as many datasets store nested data)."""
    raw = text(record, key, name=name)
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, RecursionError) as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
        raise FieldError(name or key, f"not valid JSON text: {reason}: {one_line(raw, 60)!r}") from exc


def string_list(value: Any, field: str) -> list[str]:
    """``value`` when it is a list of strings."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FieldError(field, f"expected a list of strings, got {_kind(value)}")
    return value

"""Python literals for call-based tests: writing values and reading them back safely.

Datasets write arguments and results in three dialects: Python literals,
JSON, and a JSON-ish mix (``null``, ``true``, ``false`` inside Python syntax,
as LeetCode statements do). :func:`parse_value` reads all three without ever
evaluating code; :func:`to_literal` writes the one form the sandbox reads.
"""

from __future__ import annotations

import ast
import json
import math
import re
import warnings
from typing import Any

from codesolve.tasks import pyparse

_NAMES: dict[str, Any] = {
    "None": None,
    "True": True,
    "False": False,
    "null": None,
    "true": True,
    "false": False,
}
_JSON_ONLY = {"null", "true", "false"}
_SCALARS = (int, str, bool, type(None))
_REPR_SCALARS = frozenset({int, str, bool, bytes, type(None)})
_NUMERIC_JSON = re.compile(r"[\d\s,.\[\]eE+-]*")
"""Text that json reads exactly as Python would (numbers and lists of them), only faster."""


MAX_HASHED = 10_000
"""Most items of one set or dict literal read from a dataset (keys could be chosen to collide)."""


class LiteralError(ValueError):
    """Text that is not a (JSON-ish) literal, or a value with no literal form."""


def to_literal(value: Any) -> str:
    """Python literal text of ``value``; infinities become ``1e999`` so they parse back.

    NaN has no literal form and raises :class:`LiteralError`.
    """
    # Most values (ints, strings, lists of them) are their own repr: one walk to
    # check, one C-level repr, instead of a join per container.
    try:
        return repr(value) if _plain(value) else _literal(value)
    except LiteralError:
        raise
    except ValueError as exc:  # an int past the interpreter's limit on digits printed (4,300)
        raise LiteralError(f"no literal for this value: {exc}") from None


def _plain(value: Any) -> bool:
    """Whether ``repr(value)`` is already its literal (no set, no non-finite float, no foreign type)."""
    kind = type(value)
    if kind in _REPR_SCALARS:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is list or kind is tuple:
        return all(map(_plain, value))
    if kind is dict:
        return all(_plain(k) and _plain(v) for k, v in value.items())
    return False


def _literal(value: Any) -> str:
    if isinstance(value, float):
        if math.isnan(value):
            raise LiteralError("NaN has no Python literal form")
        if math.isinf(value):
            return "1e999" if value > 0 else "-1e999"
        return repr(value)
    if isinstance(value, list):
        if all(type(v) in _SCALARS for v in value):
            return repr(value)  # fast path for the common flat list of ints/strings
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, tuple):
        inner = ", ".join(_literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (set, frozenset)):
        if not value:
            return "set()"
        return "{" + ", ".join(sorted(_literal(v) for v in value)) + "}"
    if value is None or isinstance(value, (bool, int, str, bytes)):
        return repr(value)
    raise LiteralError(f"{type(value).__name__} has no Python literal form")


def quiet_parse(source: str) -> ast.Module:
    """:func:`ast.parse` without the warnings dataset code triggers (invalid escapes and the like)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return pyparse.parse(source)


def parse_expression(text: str) -> ast.expr:
    """Parse ``text`` as one Python expression, turning parser failures into :class:`LiteralError`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            return pyparse.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError) as exc:  # (pyparse: too deep a nesting is a SyntaxError)
        raise LiteralError(f"not a Python expression: {_short(text)}") from exc


def parse_value(text: str, jsonish: bool = False) -> Any:
    """Value of a literal in ``text``; ``jsonish`` also accepts ``null``, ``true`` and ``false``."""
    if jsonish or _NUMERIC_JSON.fullmatch(text):
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            pass  # not JSON after all: the Python parser decides
    return literal_value(parse_expression(text), jsonish)


def literal_value(node: ast.expr, jsonish: bool = False) -> Any:
    """Value of a literal expression node; anything that would run code raises :class:`LiteralError`."""
    try:
        return _value(node, jsonish)
    except RecursionError as exc:
        raise LiteralError("literal nested too deeply") from exc
    except TypeError as exc:  # an unhashable set member or dict key
        raise LiteralError(f"not a literal: {exc}") from exc


def _value(node: ast.expr, jsonish: bool) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name) and node.id in _NAMES and (jsonish or node.id not in _JSON_ONLY):
        return _NAMES[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        operand = _value(node.operand, jsonish)
        if isinstance(operand, (int, float)) and not isinstance(operand, bool):
            return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.List):
        return [_value(e, jsonish) for e in node.elts]
    if isinstance(node, ast.Tuple):
        return tuple(_value(e, jsonish) for e in node.elts)
    if isinstance(node, ast.Set):
        _check_hashed(len(node.elts))
        return {_value(e, jsonish) for e in node.elts}
    if isinstance(node, ast.Dict) and all(k is not None for k in node.keys):
        _check_hashed(len(node.keys))
        pairs = zip(node.keys, node.values, strict=True)
        return {_value(k, jsonish): _value(v, jsonish) for k, v in pairs if k is not None}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "set" and not node.args:
        return set()
    raise LiteralError(f"not a literal: {_short(ast.unparse(node))}")


def _check_hashed(size: int) -> None:
    # Numbers' hashes are not randomised: n keys chosen to collide cost n**2 / 2 probes to insert.
    if size > MAX_HASHED:
        raise LiteralError(f"a set or dict literal of more than {MAX_HASHED} items")


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text[: limit * 4].split())  # only a prefix: the text may be megabytes
    return repr(text if len(text) <= limit else text[:limit] + "…")

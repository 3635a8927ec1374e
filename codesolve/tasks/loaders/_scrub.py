"""Text sanitised once, at load: no lone surrogate survives into a problem.

JSON escapes (``"\\ud800"``), YAML escapes and pickled strings can all carry
a lone surrogate, which no encoder accepts: such a problem would load and
validate, then fail when its prompt is sent or its trace written.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_P = TypeVar("_P", bound=BaseModel)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    return value


def _has_lone_surrogate(value: Any, seen: set[int]) -> bool:
    if isinstance(value, str):
        if value.isascii() or id(value) in seen:  # texts shared by many tests are looked at once
            return False
        seen.add(id(value))
        return _LONE_SURROGATE.search(value) is not None
    if isinstance(value, BaseModel):
        return any(_has_lone_surrogate(v, seen) for v in value.__dict__.values())
    if isinstance(value, (list, tuple)):
        return any(_has_lone_surrogate(v, seen) for v in value)
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k, seen) or _has_lone_surrogate(v, seen) for k, v in value.items())
    return False


def scrubbed(problem: _P) -> _P:
    """``problem`` with every lone surrogate in its texts replaced by U+FFFD.

    JSON escapes (``"\\ud800"``), YAML escapes and pickled strings can all
    carry a lone surrogate, which no encoder accepts: such a problem would
    load and validate, then fail when its prompt is sent or its trace
    written. Loaders pass every problem through here once. The check walks
    the texts in place (ASCII ones cost one C call; a text shared by many
    tests is checked once, and nothing is copied); only a problem that fails
    it is rebuilt.
    """
    if not _has_lone_surrogate(problem, set()):
        return problem
    return type(problem).model_validate(_scrub(problem.model_dump()))

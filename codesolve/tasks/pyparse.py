"""``ast.parse`` safe to call from worker threads.

The engine parses candidates, replies and repositories in worker threads
(``anyio.to_thread``) so the event loop stays free. CPython 3.11 up to 3.11.7
keeps the AST converter's recursion depth per interpreter, not per thread, so
two threads turning source into ``ast`` objects at once can fail with
``SystemError: AST constructor recursion depth mismatch`` (CPython gh-106905;
the suite met it with two fix candidates spliced at once). Every parse into
``ast`` objects in codesolve goes through here, one at a time.
"""

from __future__ import annotations

import ast
import threading
from typing import Any, Literal, overload

_ONE_AT_A_TIME = threading.Lock()


@overload
def parse(source: str | bytes, mode: Literal["exec"] = "exec") -> ast.Module: ...
@overload
def parse(source: str | bytes, mode: Literal["eval"]) -> ast.Expression: ...
def parse(source: str | bytes, mode: Literal["exec", "eval"] = "exec") -> ast.Module | ast.Expression:
    """:func:`ast.parse` under the process-wide parse lock (raises what it raises)."""
    with _ONE_AT_A_TIME:
        return ast.parse(source, mode="eval") if mode == "eval" else ast.parse(source)


def literal(text: str) -> Any:
    """:func:`ast.literal_eval` of ``text`` under the same lock."""
    return ast.literal_eval(parse(text.lstrip(" \t"), mode="eval"))

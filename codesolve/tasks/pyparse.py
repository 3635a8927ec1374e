"""``ast.parse`` safe to call from worker threads.

The engine parses candidates, replies and repositories in worker threads
(``anyio.to_thread``) so the event loop stays free. CPython 3.11 up to 3.11.7
keeps the AST converter's recursion depth per interpreter, not per thread, so
two threads turning source into ``ast`` objects at once can fail with
``SystemError: AST constructor recursion depth mismatch`` (CPython gh-106905;
the suite met it with two fix candidates spliced at once). Every parse into
``ast`` objects in codesolve goes through here, one at a time.

Source nested too deeply for the parser is a :class:`SyntaxError` here, as any other source
it cannot read: CPython raises ``RecursionError`` (``1+1+…``, ``f()()…``, ``a.a.…``) or a bare
``MemoryError`` (``- - -…1``, ``not not …``), which a caller expecting ``SyntaxError`` let
through. A model's reply of that shape crashed a repository fix's splicing.
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
    """:func:`ast.parse` under the process-wide parse lock (SyntaxError for source nested too deeply)."""
    with _ONE_AT_A_TIME:
        try:
            return ast.parse(source, mode="eval") if mode == "eval" else ast.parse(source)
        except (RecursionError, MemoryError) as exc:
            raise SyntaxError(f"nested too deeply to parse ({type(exc).__name__})") from None


def literal(text: str) -> Any:
    """:func:`ast.literal_eval` of ``text`` under the same lock (ValueError for one nested too deeply)."""
    tree = parse(text.lstrip(" \t"), mode="eval")
    try:
        return ast.literal_eval(tree)
    except RecursionError:
        raise ValueError("a literal nested too deeply") from None

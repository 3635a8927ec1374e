"""Normalised patches: what a candidate's edits change, with formatting, comments and docstrings left out.

The cheap ``majority`` selector (as in Agentless) is a vote in which patches
that mean the same thing vote together. A patch's *normal form* is, for each
file it edits whose meaning changes, the path and the file's normalised text:

* a Python file is parsed and unparsed (:func:`ast.unparse`), so whitespace,
  blank lines, comments, redundant parentheses and quote styles vanish, and
  its docstrings are dropped (they document, they do not run);
* any other file, or Python that does not parse, keeps its non-blank lines
  with trailing whitespace stripped.

A file whose normalised text is the same before and after is left out, so a
formatting-only patch has the empty normal form. Two patches have the same
normal form exactly when they give the same normalised files; since every
candidate starts from the same checkout, that is the same normalised diff.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping

from codesolve.tasks import pyparse


def _drop_docstrings(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            first = body[0].value if body and isinstance(body[0], ast.Expr) else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                node.body = body[1:] or [ast.Pass()]


def _lines(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.splitlines() if line.strip())


def normal_file(path: str, text: str) -> str:
    """The normalised text of one file (see the module's docstring)."""
    if not path.endswith(".py"):
        return _lines(text)
    try:
        tree = pyparse.parse(text)
        _drop_docstrings(tree)
        return ast.unparse(tree)
    except (SyntaxError, ValueError, RecursionError, MemoryError):  # not Python we can read: lines, as text
        return _lines(text)


def normal_form(originals: Mapping[str, str], edited: Mapping[str, str]) -> str:
    """The patch taking ``originals`` to ``edited`` (path → text), normalised ("" when it changes no meaning)."""
    parts: list[str] = []
    for path in sorted(edited):
        after = normal_file(path, edited[path])
        if after != normal_file(path, originals.get(path, "")):
            parts.append(f"=== {path}\n{after}")
    return "\n".join(parts)

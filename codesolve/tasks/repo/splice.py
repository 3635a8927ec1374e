"""Splicing a new version of a function into a file, by syntax tree.

Only the lines of the target ``def`` (from its ``def`` line to its last
statement) are replaced; every other byte of the file stays as it was,
decorators and the comments around the function included. The new version is
re-indented to the original's indentation and written with the file's own
line endings. We use the standard library's ``ast`` (line spans are all a
splice needs) rather than libcst: no new dependency for no gain here.

A candidate is refused, with a message the model can act on, when it does not
parse, holds anything besides the target functions, changes a signature or
decorators, or leaves a file that no longer parses.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from codesolve.tasks import pyparse

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


class SpliceError(ValueError):
    """The candidate cannot be spliced; the message says why, for the model."""


@dataclass(frozen=True)
class Span:
    """Where a function sits in its file (1-based, inclusive lines)."""

    first: int
    """First line: its first decorator, or the ``def``."""
    def_line: int
    last: int
    node: FunctionNode


def find_function(source: bytes, qualname: str) -> Span:
    """The span of ``qualname`` (``f`` or ``Class.method``) in ``source`` (SpliceError if absent)."""
    tree = _parse(source, "the file")
    body: list[ast.stmt] = tree.body
    parts = qualname.split(".")
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        found = next((n for n in body if _named(n, part, function=last)), None)
        if found is None:
            raise SpliceError(f"no function {qualname} in the file")
        if last:
            assert isinstance(found, FunctionNode)
            first = min([found.lineno, *(d.lineno for d in found.decorator_list)])
            return Span(first, found.lineno, found.end_lineno or found.lineno, found)
        body = found.body  # type: ignore[attr-defined]
    raise SpliceError(f"no function {qualname} in the file")


def _named(node: ast.stmt, name: str, function: bool) -> bool:
    kinds: tuple[type, ...] = (ast.FunctionDef, ast.AsyncFunctionDef) if function else (ast.ClassDef,)
    return isinstance(node, kinds) and node.name == name  # type: ignore[attr-defined]


def _parse(source: bytes | str, what: str) -> ast.Module:
    try:
        return pyparse.parse(source)
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        where = f" (line {line})" if line else ""
        raise SpliceError(f"{what} does not parse{where}: {getattr(exc, 'msg', exc)}") from None


def candidate_functions(code: str, qualnames: Sequence[str]) -> dict[str, str]:
    """The source of each target function in a candidate (a class may hold a method target).

    Refused when the code does not parse, lacks a target, or defines anything else.
    """
    tree = _parse(code, "your code")
    wanted = {q.rsplit(".", 1)[-1]: q for q in qualnames}
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            inner = [n for n in node.body if isinstance(n, FunctionNode)]
            extra = [n for n in node.body if not isinstance(n, FunctionNode | ast.Pass | ast.Expr)]
            if extra or not inner:
                raise SpliceError(f"class {node.name} in your code holds more than the functions to fix")
            for n in inner:
                _take(code, n, wanted, found, f"{node.name}.{n.name}")
        elif isinstance(node, FunctionNode):
            _take(code, node, wanted, found, node.name)
        elif not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            raise SpliceError(
                f"your code holds more than the functions to fix (line {node.lineno}); "
                "write only the functions, with any import inside them"
            )
    missing = [q for q in qualnames if q not in found]
    if missing:
        raise SpliceError(f"your code does not define {', '.join(missing)}")
    return found


def _take(code: str, node: FunctionNode, wanted: Mapping[str, str], found: dict[str, str], shown: str) -> None:
    qualname = wanted.get(node.name)
    if qualname is None or (("." in shown) and not qualname.endswith(shown)):
        raise SpliceError(f"your code defines {shown}, which is not a function to fix ({', '.join(wanted.values())})")
    lines = code.splitlines(keepends=True)
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    found[qualname] = textwrap.dedent("".join(lines[first - 1 : node.end_lineno]))


def _signature(node: FunctionNode) -> str:
    kind = "async " if isinstance(node, ast.AsyncFunctionDef) else ""
    returns = ast.dump(node.returns) if node.returns else ""
    return f"{kind}{node.name}({ast.dump(node.args)}) -> {returns}"


def _decorators(node: FunctionNode) -> str:
    return ast.dump(ast.Module([ast.Expr(d) for d in node.decorator_list], []))


def splice(source: bytes, qualname: str, new_def: str) -> bytes:
    """``source`` with the function ``qualname`` replaced by ``new_def`` (SpliceError if refused)."""
    span = find_function(source, qualname)
    [new_node] = _functions(new_def)
    if _signature(new_node) != _signature(span.node):
        old = ast.unparse(span.node.args)
        raise SpliceError(f"{qualname} must keep its signature ({span.node.name}({old})); yours changes it")
    if new_node.decorator_list and _decorators(new_node) != _decorators(span.node):
        raise SpliceError(f"{qualname} must keep its decorators; yours changes them")
    lines = source.splitlines(keepends=True)
    def_text = lines[span.def_line - 1].decode("utf-8", "surrogateescape")
    indent = def_text[: len(def_text) - len(def_text.lstrip())]
    newline = "\r\n" if lines[span.def_line - 1].endswith(b"\r\n") else "\n"
    # The original decorator lines stay; the new version replaces the def onwards.
    body = "".join(textwrap.dedent(new_def).splitlines(keepends=True)[new_node.lineno - 1 :])
    text = "".join(indent + line if line.strip() else line for line in body.splitlines(keepends=True))
    text = text.replace("\r\n", "\n").replace("\n", newline)
    if not text.endswith(newline):
        text += newline
    out = b"".join([*lines[: span.def_line - 1], text.encode("utf-8", "surrogateescape"), *lines[span.last :]])
    _parse(out, f"the file with your {qualname}")
    return out


def _functions(code: str) -> list[FunctionNode]:
    tree = _parse(textwrap.dedent(code), "your function")
    funcs = [n for n in tree.body if isinstance(n, FunctionNode)]
    if len(funcs) != 1 or len(tree.body) != 1:
        raise SpliceError("expected exactly one function")
    return funcs


def splice_all(files: Mapping[str, bytes], edits: Mapping[tuple[str, str], str]) -> dict[str, bytes]:
    """Every edited file: ``edits`` maps ``(path, qualname)`` to the new version of that function."""
    out: dict[str, bytes] = {}
    for (path, qualname), new_def in sorted(edits.items()):
        out[path] = splice(out.get(path, files[path]), qualname, new_def)
    return out

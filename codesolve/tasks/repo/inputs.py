"""LLM-free inputs for differential testing: the tests' own calls of a target, and their neighbours.

The repository's tests already call the function with meaningful arguments.
Every call of the target written with literal arguments only (``f(6, 3)``)
gives an input, and each of its arguments moved to an edge (an int to 0, its
negation and its successor, a string or a container to empty) gives more:
edges are where two fixes that both pass the tests most often part (a
division by a zero argument the tests never pass). No model is asked; a
property-based synthesizer can be plugged in beside it (:class:`InputSource`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import anyio.to_thread

from codesolve.tasks import pyparse
from codesolve.tasks.repo.workspace import Target

MAX_SOURCE_BYTES = 2 << 20


def _literal_args(call: ast.Call) -> list[Any] | None:
    if call.keywords or any(isinstance(a, ast.Starred) for a in call.args):
        return None
    try:
        return [ast.literal_eval(a) for a in call.args]
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _calls(tree: ast.AST, name: str) -> Iterator[list[Any]]:
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        if called == name and (args := _literal_args(node)) is not None:
            yield args


def _edges(value: Any) -> list[Any]:
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int):
        return [0, -value, value + 1]
    if isinstance(value, float):
        return [0.0, -value]
    if isinstance(value, str | bytes | list | tuple | dict | set):
        return [type(value)()]
    return []


def neighbours(args: list[Any]) -> Iterator[list[Any]]:
    """``args`` itself, then each argument moved to each of its edges in turn."""
    yield args
    for position, value in enumerate(args):
        for edge in _edges(value):
            yield [*args[:position], edge, *args[position + 1 :]]


class TestCallInputs:
    """Inputs from the literal calls of the target in the given test files (see the module docstring)."""

    __test__ = False

    def __init__(self, repo: Path, test_files: Sequence[str]) -> None:
        self.repo = repo
        self.test_files = list(dict.fromkeys(test_files))

    def collect(self, target: Target, limit: int) -> list[str]:
        """Up to ``limit`` distinct inputs (Python list literals), the tests' own calls first."""
        name = target.qualname.rsplit(".", 1)[-1]
        found: dict[str, None] = {}
        seeds = []
        for rel in self.test_files:
            path = self.repo / rel
            if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_SOURCE_BYTES:
                continue
            try:
                seeds += list(_calls(pyparse.parse(path.read_bytes()), name))
            except (SyntaxError, ValueError, RecursionError):
                continue
        for args in seeds:
            found.setdefault(repr(args))
        for args in seeds:
            for moved in neighbours(args):
                found.setdefault(repr(moved))
        return list(found)[:limit]

    async def inputs(self, target: Target, source: str, limit: int) -> list[str]:
        """See :class:`codesolve.tasks.fix.InputSource` (``source`` is not needed here)."""
        del source
        return await anyio.to_thread.run_sync(self.collect, target, limit, abandon_on_cancel=True)

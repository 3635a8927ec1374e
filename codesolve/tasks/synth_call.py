"""LLM-free inputs for call-based problems: value shapes from the signature and the examples.

A :class:`Shape` says what one argument looks like: its type (from the type
hint, else from the literal arguments the public tests and the statement's
examples pass) and the ranges those literals show (integer bounds, lengths,
the characters of strings). Inputs are the examples' arguments with one
argument at a time replaced by an edge case of its shape (empty, zero, one,
negative, duplicates, a single element, the extremes seen), then draws from
the shapes. Everything is drawn from a ``random.Random`` seeded by the caller,
so the same problem and seed always give the same inputs.
"""

from __future__ import annotations

import ast
import math
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from codesolve.tasks import pyparse
from codesolve.tasks.literals import LiteralError, parse_value, to_literal

MAX_LEN = 12
"""Longest collection drawn when the examples show none longer (edge cases stay small to read)."""
_ALPHABET = "abcdefghijklmnopqrstuvwxyz"
_KINDS = {"int": "int", "float": "float", "str": "str", "bool": "bool", "list": "list", "List": "list"}
_KINDS |= {"tuple": "tuple", "Tuple": "tuple", "dict": "dict", "Dict": "dict", "set": "list", "Set": "list"}


@dataclass(frozen=True)
class Shape:
    """What one argument looks like: a kind and the ranges the examples show."""

    kind: str = "any"
    """``int``, ``float``, ``str``, ``bool``, ``list``, ``tuple``, ``dict`` or ``any`` (unknown)."""
    lo: float = -10
    hi: float = 10
    """Numeric range (of the value, or of a string's or collection's items)."""
    max_len: int = 6
    """Longest collection or string the examples show (at least a few)."""
    chars: str = _ALPHABET
    """Characters strings are drawn from."""
    items: tuple[Shape, ...] = ()
    """Item shape of a list (one), a tuple's positions, or a dict's key and value (two)."""


def annotation_shape(node: ast.expr | None) -> Shape:
    """The shape a type hint names (``List[int]``, ``Optional[str]``, ``dict[str, int]``…)."""
    if node is None:
        return Shape()
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            return annotation_shape(pyparse.parse(node.value, mode="eval").body)
        except SyntaxError:
            return Shape()
    name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
    if name is not None:
        return Shape(_KINDS.get(name, "any"))
    if isinstance(node, ast.Subscript):
        outer = annotation_shape(node.value)
        args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if outer.kind == "any":  # Optional[X], Union[X, ...]: the first named type
            return annotation_shape(args[0])
        return replace(outer, items=tuple(annotation_shape(a) for a in args if not isinstance(a, ast.Constant)))
    if isinstance(node, ast.BinOp):  # X | None
        return annotation_shape(node.left)
    return Shape()


def signature_shapes(def_line: str | None) -> list[Shape]:
    """One shape per positional parameter of a ``def`` line (``self`` left out); [] if it does not parse."""
    if not def_line:
        return []
    try:
        tree = pyparse.parse(def_line.strip().rstrip(":") + ":\n    pass\n")
    except (SyntaxError, ValueError):  # (pyparse: too deep a nesting is a SyntaxError)
        return []
    fn = tree.body[0]
    if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
        return []
    params = [*fn.args.posonlyargs, *fn.args.args]
    if params and params[0].arg in ("self", "cls"):
        params = params[1:]
    return [annotation_shape(p.annotation) for p in params]


def value_shape(value: Any) -> Shape:
    """The shape of one literal value seen in an example."""
    if isinstance(value, bool):
        return Shape("bool")
    if isinstance(value, float) and not math.isfinite(value):
        return Shape("float")  # (an infinity or NaN has no range to draw from: the default one)
    if isinstance(value, int | float):
        return Shape("int" if isinstance(value, int) else "float", lo=value, hi=value)
    if isinstance(value, str):
        return Shape("str", max_len=len(value), chars="".join(sorted(set(value))) or _ALPHABET)
    if isinstance(value, list | tuple | set | frozenset):
        seq = list(value)
        item = merge_all([value_shape(v) for v in seq]) if seq else Shape()
        if isinstance(value, tuple):
            return Shape("tuple", max_len=len(seq), items=tuple(value_shape(v) for v in seq))
        return Shape("list", max_len=len(seq), items=(item,), lo=item.lo, hi=item.hi)
    if isinstance(value, dict):
        keys = merge_all([value_shape(k) for k in value]) if value else Shape("str")
        vals = merge_all([value_shape(v) for v in value.values()]) if value else Shape("int")
        return Shape("dict", max_len=len(value), items=(keys, vals))
    return Shape()


def merge(a: Shape, b: Shape) -> Shape:
    """The shape covering both (a known kind wins over ``any``; ranges and alphabets widen)."""
    kind = a.kind if a.kind != "any" else b.kind
    if {a.kind, b.kind} == {"int", "float"}:
        kind = "float"
    items = a.items or b.items
    if a.items and b.items and len(a.items) == len(b.items):
        items = tuple(merge(x, y) for x, y in zip(a.items, b.items, strict=True))
    chars = "".join(sorted(set(a.chars) | set(b.chars)))
    return Shape(kind, min(a.lo, b.lo), max(a.hi, b.hi), max(a.max_len, b.max_len), chars, items)


def merge_all(shapes: Sequence[Shape]) -> Shape:
    """Merge a non-empty list of shapes."""
    out = shapes[0]
    for s in shapes[1:]:
        out = merge(out, s)
    return out


def refine(hint: Shape, seen: Sequence[Shape]) -> Shape:
    """A hinted shape with the examples' ranges (the hint's kind wins; unknown hints take the examples')."""
    if not seen:
        return hint
    observed = merge_all(seen)
    if hint.kind in ("any", observed.kind) or (hint.kind, observed.kind) == ("float", "int"):
        kind = observed.kind if hint.kind == "any" else hint.kind
        items = observed.items or hint.items
        return replace(observed, kind=kind, items=items)
    return hint


def edges(shape: Shape) -> list[Any]:
    """Shrink-worthy values of a shape: empty, zero, one, negative, duplicates, single items, extremes."""
    lo, hi = int(shape.lo), int(shape.hi)
    if shape.kind == "bool":
        return [False, True]
    if shape.kind == "int":
        return _unique([0, 1, -1, lo, hi, hi + 1, 2, lo - 1 if lo < 0 else 10 * max(hi, 1)])
    if shape.kind == "float":
        return _unique([0.0, 1.0, -1.0, 0.5, float(shape.lo), float(shape.hi), 1e-9])
    if shape.kind == "str":
        c = shape.chars[0]
        return _unique(["", c, c * 2, shape.chars[-1] + c, shape.chars[: max(1, shape.max_len)], " "])
    if shape.kind in ("list", "tuple"):
        item = shape.items[0] if shape.items else Shape("int")
        small = edges(item)[:4] or [0]
        one = small[1] if len(small) > 1 else small[0]
        return [[], [one], [one, one], small, list(reversed(small)), [small[0]] * 3]
    if shape.kind == "dict":
        return [{}]
    return [0, "", []]


def draw(shape: Shape, rng: random.Random, depth: int = 0) -> Any:
    """A value of ``shape`` drawn from ``rng`` within the ranges it carries."""
    length = rng.randint(0, max(3, min(shape.max_len + 2, MAX_LEN if depth else 2 * MAX_LEN)))
    if shape.kind == "bool":
        return rng.random() < 0.5
    # A range one example shows is a point: widen it upward to at least ten values (never below its low end,
    # where negatives may be invalid; the edge cases try those).
    hi = max(shape.hi, shape.lo + 10)
    if shape.kind == "int":
        return rng.randint(int(shape.lo), int(hi))
    if shape.kind == "float":
        return round(rng.uniform(shape.lo, hi), 3)
    if shape.kind == "str":
        return "".join(rng.choice(shape.chars) for _ in range(length))
    item = shape.items[0] if shape.items else Shape("int")
    if shape.kind == "list" and depth < 3:
        return [draw(item, rng, depth + 1) for _ in range(length)]
    if shape.kind == "tuple" and depth < 3:
        return tuple(draw(s, rng, depth + 1) for s in shape.items) or (draw(item, rng, depth + 1),)
    if shape.kind == "dict" and depth < 3 and len(shape.items) == 2:
        return {draw(shape.items[0], rng, depth + 1): draw(shape.items[1], rng, depth + 1) for _ in range(length)}
    return rng.randint(-10, 10)


def example_args(literals: Iterable[str]) -> list[list[Any]]:
    """The argument lists of call tests (``"[1, [2, 3]]"``) that parse as lists."""
    found: list[list[Any]] = []
    for text in literals:
        try:
            value = parse_value(text)
        except LiteralError:
            continue
        if isinstance(value, list):
            found.append(value)
    return found


def arg_shapes(def_line: str | None, examples: Sequence[list[Any]]) -> list[Shape]:
    """One shape per argument: the hint refined by the examples (their arity wins when they agree)."""
    hinted = signature_shapes(def_line)
    arity = len(examples[0]) if examples and all(len(e) == len(examples[0]) for e in examples) else len(hinted)
    hinted = (hinted + [Shape()] * arity)[:arity]
    return [refine(h, [value_shape(e[i]) for e in examples]) for i, h in enumerate(hinted)]


def call_inputs(def_line: str | None, literals: Iterable[str], count: int, seed: str) -> list[str]:
    """Up to ``count`` distinct argument-list literals: edge cases of each argument first, then draws."""
    examples = example_args(literals)
    shapes = arg_shapes(def_line, examples)
    if not shapes:
        return []
    rng = random.Random(seed)
    bases = examples[:2] or [[draw(s, rng) for s in shapes]]
    per_arg = [edges(shape) for shape in shapes]
    out: dict[str, None] = {}
    # Round robin over the arguments, so each one's edge cases get a share; a third is left for draws.
    for rank in range(max(len(e) for e in per_arg)):
        for position, values in enumerate(per_arg):
            if rank < len(values) and len(out) < count - count // 3:
                base = bases[rank % len(bases)]
                _add(out, [*base[:position], values[rank], *base[position + 1 :]])
    for _ in range(count * 4):
        if len(out) >= count:
            break
        _add(out, [draw(s, rng) for s in shapes])
    return list(out)[:count]


def _add(out: dict[str, None], args: list[Any]) -> None:
    try:
        out[to_literal(args)] = None
    except (LiteralError, RecursionError):
        pass


def _unique(values: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for v in values:
        if not any(type(v) is type(s) and v == s for s in seen):
            seen.append(v)
    return seen

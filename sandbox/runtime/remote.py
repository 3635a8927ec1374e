"""What crosses between a check's process and its program's. Standard library only.

Used by :mod:`sandbox.runtime.crossing` (a check beside the program); in the fork server this
source runs after :mod:`sandbox.runtime.harness`, before crossing's, in the same namespace.
:class:`Values` turns one side's values into text the other side rebuilds (plain data, read
through the base types' own methods on the program's side) or into handles on objects that
stay where they are; a :class:`Remote` stands for such an object of the other side, and its
operations are requests to that side.
"""

from __future__ import annotations

import builtins
import sys
import types

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
if __name__ != "_sandbox_harness":  # in the fork server this runs after the harness, in its namespace
    from sandbox.runtime.harness import _show

NO_MIRROR = ("SystemExit", "KeyboardInterrupt", "GeneratorExit", "StopIteration", "StopAsyncIteration")
BUILTIN_EXCEPTIONS = {
    k: v for k, v in builtins.__dict__.items() if isinstance(v, type) and issubclass(v, BaseException)
}


def broken() -> ProgramError:
    """The error of a channel the other side wrote what no side of ours writes on."""
    return ProgramError("the program's process broke the check's channel")


class ProgramError(Exception):
    """An exception the other side raised whose type cannot be named here (or a broken channel)."""


def raised(exc: BaseException, show: bool = False) -> tuple[str, str, str]:
    """An exception as the other side will raise it (the program's traceback goes to its stderr)."""
    try:
        if show:
            _show(exc)
        text = str(exc)
        message = text[:2000] if type(text) is str else ""
    except BaseException:
        message = ""
    return ("raise", type(exc).__name__, message)


def mirror(answer: tuple[Any, ...]) -> BaseException:
    name = str(answer[2]) if len(answer) > 2 else "?"
    message = str(answer[3]) if len(answer) > 3 else ""
    kind = BUILTIN_EXCEPTIONS.get(name)
    if kind is not None and name not in NO_MIRROR:
        try:
            return kind(message)
        except Exception:
            pass
    return ProgramError(f"{name}: {message}")


def update_in_place(given: Any, now: Any) -> None:
    # In place, as the function left it (a check may read an argument it sorted).
    if type(given) is list and type(now) is list:
        given[:] = now
    elif type(given) in (dict, set) and type(now) is type(given):
        given.clear()
        given.update(now)


OPS: dict[str, Any] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "getitem": lambda a, b: a[b],
    "len": lambda a, _b: len(a),
    "iter": lambda a, _b: iter(a),
    "hash": lambda a, _b: hash(a),
    "bool": lambda a, _b: bool(a),
    "str": lambda a, _b: str(a),
}

NOTHING = object()


def base_value(value: Any) -> Any:
    """What a program's subclass of a plain type, number or array holds as plain data (read
    through the base type's own method: no override of the program's decides it)."""
    deque = __import__("_collections").deque
    for base, read in BASES:
        if isinstance(value, base):
            return read(value)
    if isinstance(value, deque):
        return list(value)
    if callable(getattr(type(value), "tolist", None)):  # numpy's arrays and scalars
        return value.tolist()
    if hasattr(type(value), "__index__"):
        return __import__("_operator").index(value)
    numbers = sys.modules.get("numbers")  # (Fraction, Decimal, numpy: registered with it)
    if numbers is not None and isinstance(value, numbers.Complex):
        return float(value) if isinstance(value, numbers.Real) else complex(value)
    return NOTHING


BASES: tuple[tuple[type, Any], ...] = (
    (int, int.__int__),
    (float, float.__float__),
    (str, str.__str__),
    (bytes, lambda v: bytes.__getitem__(v, slice(None))),
    (dict, dict.copy),
    (list, lambda v: list.__getitem__(v, slice(None))),
    (tuple, lambda v: tuple.__getitem__(v, slice(None))),
    (set, set.copy),
    (frozenset, frozenset.copy),
)


class Remote:
    """One of the other side's objects: its operations run there. On the check's side, compared
    with anything but another of the program's objects it equals nothing (a result that is not
    plain data cannot be equal to whatever a check expects)."""

    __slots__ = ("_index", "_kind", "_side")

    def __init__(self, side: Any, index: int, kind: str) -> None:
        object.__setattr__(self, "_side", side)
        object.__setattr__(self, "_index", index)
        object.__setattr__(self, "_kind", kind)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._side.call(self._index, args, kwargs)

    def __getattr__(self, name: str) -> Any:
        return self._side.value("getattr", self._index, name)

    def __setattr__(self, name: str, value: Any) -> None:
        self._side.request("setattr", self._index, name, self._side.encode(value))

    def __getitem__(self, key: Any) -> Any:
        return self._side.value("getitem", self._index, self._side.encode(key))

    def __setitem__(self, key: Any, value: Any) -> None:
        side = self._side
        side.request("setitem", self._index, side.encode(key), side.encode(value))

    def __len__(self) -> int:
        return int(self._side.value("len", self._index, None))

    def __iter__(self) -> Any:
        return self._side.value("iter", self._index, None)

    def __next__(self) -> Any:
        answer = self._side.request("next", self._index)
        if answer[0] == "stop":
            raise StopIteration
        return self._side.decode(answer[1])

    def __contains__(self, item: Any) -> bool:
        return any(item == each for each in self)  # decided here, on what iterating it gives

    def __hash__(self) -> int:
        return int(self._side.value("hash", self._index, None))

    def __bool__(self) -> bool:
        # Its own side's word, which gains a program nothing: an object true for every check is
        # no more than `return True` (an object equal to every answer would be: see _compare).
        truth = self._side.value("bool", self._index, None)
        if type(truth) is not bool:
            raise TypeError(f"the truth value of a {self._kind} object is not a bool")
        return truth

    def __str__(self) -> str:
        return str(self._side.value("str", self._index, None))

    def __repr__(self) -> str:
        return f"<{self._kind} object of the {'check' if self._side.program else 'program'}>"

    def _compare(self, op: str, other: Any) -> Any:
        if not isinstance(other, Remote) and not self._side.program:
            return NotImplemented
        return self._side.value(op, self._index, self._side.encode(other))

    def __eq__(self, other: object) -> Any:
        return self._compare("eq", other)

    def __ne__(self, other: object) -> Any:
        return self._compare("ne", other)

    def __lt__(self, other: Any) -> Any:
        return self._compare("lt", other)

    def __le__(self, other: Any) -> Any:
        return self._compare("le", other)

    def __gt__(self, other: Any) -> Any:
        return self._compare("gt", other)

    def __ge__(self, other: Any) -> Any:
        return self._compare("ge", other)


MARK = "\x00codesolve"
"""First item of a tuple that stands for what plain data cannot say (a handle, a nan, a set)."""
DEPTH = 100
"""Nesting past which a value crosses as a handle (self-referencing lists, deep trees)."""
SCALARS = (int, str, bytes, bool, type(None))


class Values:
    """What crosses, for one side (:class:`sandbox.runtime.crossing.Side`): its values as the other
    side can rebuild them, and the other side's as its own (plain data) or as handles."""

    program: bool
    objects: list[Any]
    index_of: dict[int, int]
    remotes: dict[int, Remote]

    def encode(self, value: Any, depth: int = 0) -> Any:
        """One of our values as the other side can rebuild it."""
        kind = type(value)
        if kind in SCALARS:
            return value
        if kind is float:
            return value if value - value == 0 else (MARK, "float", repr(value))
        if kind is complex:  # (as its two floats: the text of a complex loses a zero's sign)
            return (MARK, "complex", repr(value.real), repr(value.imag))
        if kind is Remote and value._side is self:
            return (MARK, "yours", value._index)
        if depth > DEPTH:
            return self.handle(value)
        if kind is list or kind is tuple:
            items = [self.encode(v, depth + 1) for v in value]
            return items if kind is list else tuple(items)
        if kind is dict:
            return {self.encode(k, depth + 1): self.encode(v, depth + 1) for k, v in value.items()}
        if kind is set or kind is frozenset:
            return (MARK, kind.__name__, [self.encode(v, depth + 1) for v in value])
        if kind is types.ModuleType and type(value.__name__) is str:
            return (MARK, "module", value.__name__)  # the other side's own import of it
        called = getattr(value, "__name__", None) if not self.program else None
        if isinstance(called, str) and builtins.__dict__.get(called) is value:
            return (MARK, "builtin", called)
        base = base_value(value) if self.program else NOTHING
        return self.handle(value) if base is NOTHING else self.encode(base, depth + 1)

    def handle(self, value: Any) -> tuple[Any, ...]:
        """A handle on one of our objects (the same one each time it crosses)."""
        index = self.index_of.get(id(value))
        if index is None:
            index = self.index_of[id(value)] = len(self.objects)
            self.objects.append(value)  # (kept alive here: its id stays its own)
        name = getattr(type(value), "__qualname__", "")
        return (MARK, "mine", index, name[:100] if type(name) is str else "")

    def decode(self, value: Any) -> Any:
        """What the other side sent, rebuilt: plain data as our own objects, its objects as handles."""
        kind = type(value)
        if kind is tuple and value and value[0] == MARK:
            return self._marked(value)
        if kind is list or kind is tuple:
            items = [self.decode(v) for v in value]
            return items if kind is list else tuple(items)
        if kind is dict:
            return {self.decode(k): self.decode(v) for k, v in value.items()}
        return value

    def _marked(self, value: tuple[Any, ...]) -> Any:
        what = value[1] if len(value) > 1 else None
        if what == "mine":  # theirs, to us
            index = int(value[2])
            if index not in self.remotes:
                self.remotes[index] = Remote(self, index, str(value[3]))
            return self.remotes[index]
        if what == "yours":
            return self.objects[int(value[2])]
        if what == "float":
            return float(str(value[2]))
        if what == "complex":
            return complex(float(str(value[2])), float(str(value[3])))
        if what in ("set", "frozenset"):
            return (set if what == "set" else frozenset)(self.decode(v) for v in value[2])
        if what == "module":  # (here: from the standard places only; see split_check)
            return __import__(str(value[2]))
        if what == "builtin" and self.program:
            return getattr(builtins, str(value[2]))
        raise broken()

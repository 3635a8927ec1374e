"""Decoding pickled strings from datasets without ever running code.

LiveCodeBench stores private tests as ``base64(zlib(pickle(json_text)))``. A
pickle can name any importable callable and call it while loading, so a
dataset could run code on our machine. The unpickler here refuses every
global and every persistent id: what is left can only build plain values, and
we accept nothing but a ``str``.

Before the unpickler runs, the opcodes are checked against the handful a
pickled string is made of (at most :data:`MAX_OPCODES` of them): no lists,
dicts or sets are ever built, so keys chosen to collide in Python's hash
cannot cost quadratic time. The inflated size is charged to the load's
decode budget (:mod:`._limits`) as it streams, so the string is capped while
it is decoded, not after.
"""

from __future__ import annotations

import base64
import binascii
import io
import pickle
import pickletools
from typing import NoReturn

from codesolve.tasks.loaders._limits import InflateError, excerpt
from codesolve.tasks.loaders._limits import inflate as _inflate

MAX_OPCODES = 16
"""A pickled string is a protocol mark, a frame, the string, a memo entry and a stop."""
_STRING_OPCODES = frozenset(
    {"PROTO", "FRAME", "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "MEMOIZE", "BINPUT"}
    | {"LONG_BINPUT", "PUT", "STOP"}
)


class UnsafePickle(ValueError):
    """The payload is not a plain pickled string (or not decodable at all)."""


class _NoGlobals(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> NoReturn:
        # Every code-execution route in a pickle (REDUCE, BUILD, INST, OBJ, NEWOBJ…)
        # needs a callable, and callables only come from here or persistent_load.
        raise UnsafePickle(f"refused global {module}.{name}")

    def persistent_load(self, pid: object) -> NoReturn:
        raise UnsafePickle(f"refused persistent id {pid!r}")


def _check_opcodes(data: bytes) -> None:
    strings: list[str] = []
    try:
        for count, (opcode, arg, _pos) in enumerate(pickletools.genops(data), start=1):
            if count > MAX_OPCODES:
                raise UnsafePickle(f"more than {MAX_OPCODES} opcodes for one string")
            if opcode.name not in _STRING_OPCODES:
                raise UnsafePickle(f"refused opcode {opcode.name}{_named(opcode.name, arg, strings)}")
            if isinstance(arg, str):
                strings = [*strings[-1:], arg]
    except UnsafePickle:
        raise
    except (ValueError, TypeError, IndexError, KeyError, UnicodeDecodeError) as exc:
        raise UnsafePickle(f"not a valid pickle: {type(exc).__name__}") from None


def _named(opcode: str, arg: object, strings: list[str]) -> str:
    """What a refused global would have imported (``posix.system``), else the reason."""
    if opcode == "GLOBAL" and isinstance(arg, str):
        return f" (global {excerpt(arg.replace(' ', '.'))})"
    if opcode == "STACK_GLOBAL" and len(strings) == 2:
        return f" (global {excerpt('.'.join(strings))})"
    return ": only a plain string is accepted"


def loads_str(data: bytes) -> str:
    """Unpickle ``data`` that must hold exactly one ``str``."""
    _check_opcodes(data)
    try:
        value = _NoGlobals(io.BytesIO(data)).load()
    except UnsafePickle:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        raise UnsafePickle(f"not a valid pickle: {type(exc).__name__}") from None
    except RecursionError as exc:
        raise UnsafePickle("pickle nested too deeply") from exc
    if not isinstance(value, str):
        raise UnsafePickle(f"pickle holds {type(value).__name__}, expected str")
    return value


def inflate(data: bytes) -> bytes:
    """zlib-decompress within the load's decode budget."""
    try:
        return _inflate(data)
    except InflateError as exc:
        raise UnsafePickle(f"not zlib data: {exc}" if exc.corrupt else str(exc)) from None


def decode_compressed_text(field: str) -> str:
    """LiveCodeBench's ``base64 → zlib → pickle → str`` chain, restricted at every step."""
    try:
        raw = base64.b64decode(field.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise UnsafePickle(f"not base64: {type(exc).__name__}") from None
    return loads_str(inflate(raw))

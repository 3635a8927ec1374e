"""Decoding pickled strings from datasets without ever running code.

LiveCodeBench stores private tests as ``base64(zlib(pickle(json_text)))``. A
pickle can name any importable callable and call it while loading, so a
dataset could run code on our machine. The unpickler here refuses every
global and every persistent id: what is left can only build plain values, and
we accept nothing but a ``str``.
"""

from __future__ import annotations

import base64
import binascii
import io
import pickle
import zlib
from typing import NoReturn

MAX_DECOMPRESSED = 256 << 20
"""Cap on the inflated size, so a tiny field cannot expand into gigabytes."""


class UnsafePickle(ValueError):
    """The payload is not a plain pickled string (or not decodable at all)."""


class _NoGlobals(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> NoReturn:
        # Every code-execution route in a pickle (REDUCE, BUILD, INST, OBJ, NEWOBJ…)
        # needs a callable, and callables only come from here or persistent_load.
        raise UnsafePickle(f"refused global {module}.{name}")

    def persistent_load(self, pid: object) -> NoReturn:
        raise UnsafePickle(f"refused persistent id {pid!r}")


def loads_str(data: bytes) -> str:
    """Unpickle ``data`` that must hold exactly one ``str``."""
    try:
        value = _NoGlobals(io.BytesIO(data)).load()
    except UnsafePickle:
        raise
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        raise UnsafePickle(f"not a valid pickle: {exc}") from exc
    except RecursionError as exc:
        raise UnsafePickle("pickle nested too deeply") from exc
    if not isinstance(value, str):
        raise UnsafePickle(f"pickle holds {type(value).__name__}, expected str")
    return value


def inflate(data: bytes) -> bytes:
    """zlib-decompress with a size cap."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_DECOMPRESSED)
    except zlib.error as exc:
        raise UnsafePickle(f"not zlib data: {exc}") from exc
    if inflater.unconsumed_tail:
        raise UnsafePickle(f"inflates to more than {MAX_DECOMPRESSED} bytes")
    if not inflater.eof:
        raise UnsafePickle("truncated zlib data")
    return out


def decode_compressed_text(field: str) -> str:
    """LiveCodeBench's ``base64 → zlib → pickle → str`` chain, restricted at every step."""
    try:
        raw = base64.b64decode(field.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise UnsafePickle(f"not base64: {exc}") from exc
    return loads_str(inflate(raw))

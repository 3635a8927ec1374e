"""What compiling a program produced, kept from batch to batch: each program is compiled once.
Standard library only.

The Docker agent runs batch after batch in one process; a candidate is run on its public
tests, then on synthesized inputs, then on a distinguishing input, often in the same
container. The first batch compiles it (or, for Python, syntax-checks it in a limited child);
later batches of the same program take the result from here.

* **Key**: a SHA-256 of the compile command (flags included), the compiler's identity (its
  resolved path, size and modification time), every program file (name and bytes), and
  whatever else decides the result (the limits a syntax check ran under).
* **Value**: the files the compiler added to the program directory (bytes and mode), or the
  compile failure (CE) it ended in.
* **Where**: in the agent's own memory. The agent is not dumpable, and nothing of this is
  ever on a disk a test can write, so a test cannot tamper with what a later batch gets. A
  test may overwrite the binary in its own batch directory: the driver's snapshot restores
  it before the next test, and the next batch gets a fresh copy from here.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections import OrderedDict
from typing import TYPE_CHECKING, NamedTuple

from sandbox.runtime.nearby import near, unwritable

if TYPE_CHECKING:
    from sandbox.runtime.wire import Outcome

CACHE_BYTES = 32 << 20
"""The most the cache holds: it lives in the container's memory, beside the tests."""


class Artefact(NamedTuple):
    """What one compilation left: new files ``(relative path, bytes, mode)``, or its failure."""

    files: tuple[tuple[str, bytes, int], ...]
    failure: Outcome | None = None

    def size(self) -> int:
        """Bytes held."""
        return sum(len(data) for _, data, _ in self.files) + 256


class ArtefactCache:
    """A bounded LRU map from :func:`artefact_key` to :class:`Artefact`."""

    def __init__(self, cap_bytes: int = CACHE_BYTES) -> None:
        self.cap = cap_bytes
        self._items: OrderedDict[str, Artefact] = OrderedDict()
        self._bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: str) -> Artefact | None:
        """The artefact for ``key`` (and it becomes the most recently used), or None."""
        found = self._items.get(key)
        if found is None:
            self.misses += 1
            return None
        self.hits += 1
        self._items.move_to_end(key)
        return found

    def put(self, key: str, artefact: Artefact) -> None:
        """Keep ``artefact``, dropping the least recently used ones past the cap."""
        size = artefact.size()
        if size > self.cap:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self._bytes -= old.size()
        self._items[key] = artefact
        self._bytes += size
        while self._bytes > self.cap:
            _, dropped = self._items.popitem(last=False)
            self._bytes -= dropped.size()


def program_files(directory: str) -> dict[str, tuple[int, int]]:
    """Regular files under ``directory``: relative path -> (size, mtime_ns)."""
    found: dict[str, tuple[int, int]] = {}
    directory = near(directory)
    for folder, dirs, files in os.walk(directory):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            st = os.lstat(path)
            if os.path.isfile(path) and not os.path.islink(path):
                found[os.path.relpath(path, directory)] = (st.st_size, st.st_mtime_ns)
    return found


def _file_bytes(path: str) -> bytes:
    fd = os.open(near(path), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


_IDENTITIES: dict[tuple[str, str], str] = {}
"""Compilers found in places no test can write (kept for the process's life)."""


def compiler_identity(program: str, path: str) -> str:
    """The compiler ``program`` resolves to on ``path``: its real path, size and mtime.

    Remembered when neither the compiler nor any directory on ``path`` can be written by us (and
    so by a test, which runs as our uid): finding it again walks a dozen paths from ``/``."""
    known = _IDENTITIES.get((program, path))
    if known is not None:
        return known
    found = shutil.which(program, path=path)
    if found is None:
        return f"{program}: not found"
    real = os.path.realpath(found)
    st = os.stat(real)
    identity = f"{real}:{st.st_size}:{st.st_mtime_ns}"
    if unwritable([real, *path.split(os.pathsep)]):
        _IDENTITIES[(program, path)] = identity
    return identity


def artefact_key(directory: str, command: list[str], compiler: str, extra: str = "") -> str:
    """The cache key of compiling the files under ``directory`` with ``command``."""
    digest = hashlib.sha256()
    for part in (*command, "\0", compiler, "\0", extra, "\0"):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\0")
    for rel in program_files(directory):
        data = _file_bytes(os.path.join(directory, rel))
        digest.update(rel.encode("utf-8", "surrogateescape") + b"\0" + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()


def produced(directory: str, before: dict[str, tuple[int, int]]) -> tuple[tuple[str, bytes, int], ...]:
    """The files under ``directory`` that are new or changed since ``before`` (read now)."""
    out = []
    for rel, stamp in program_files(directory).items():
        if before.get(rel) != stamp:
            path = near(os.path.join(directory, rel))
            out.append((rel, _file_bytes(path), os.lstat(path).st_mode & 0o777))
    return tuple(out)


def install(directory: str, files: tuple[tuple[str, bytes, int], ...]) -> None:
    """Write an artefact's files into a program directory (replacing what is there)."""
    for rel, data, mode in files:
        path = near(os.path.join(directory, rel))
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fchmod(fd, mode)
        finally:
            os.close(fd)

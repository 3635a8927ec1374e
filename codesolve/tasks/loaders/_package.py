"""Reading files of a problem package without ever leaving it.

A package (a Kattis directory, or the directory holding a problem file and
its support files) is untrusted: any name in it may be a symbolic link to
``/proc/self/environ`` or ``/etc/shadow``, a FIFO that blocks every reader,
or a device. Every read here is a *resolve-and-check*:

1. the path is resolved (``os.path.realpath``), and must lie inside the
   package's own resolved root: a link to another file of the package is
   fine (problemtools shares test data that way), a link out is refused;
2. the resolved path is then opened one component at a time from a
   descriptor of the root, each with ``O_NOFOLLOW`` (a link swapped in
   after the check fails instead of being followed), the last with
   ``O_NONBLOCK`` (a FIFO cannot hang us) and checked with ``fstat`` to be a
   regular file.

Directories are walked the same way, so a linked ``data/sample`` or
``data/secret`` directory is held to the same rule. Refusals are one line
naming the file and never quote its contents. A file reached through several
names (links, hard links) is read once and its text shared, so links cannot
multiply a small package into gigabytes.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from codesolve.errors import ProblemFormatError
from codesolve.tasks.loaders._io import decode_text
from codesolve.tasks.loaders._limits import MAX_BYTES

MAX_ENTRIES = 100_000
"""Most directory entries walked in one package (a package of a million empty files is refused)."""


def _inside(root: str, real: str) -> bool:
    return real == root or real.startswith(root.rstrip(os.sep) + os.sep)


@dataclass
class Package:
    """One directory whose files may be read, and nothing outside it."""

    path: Path
    """The package as the user named it (used in messages)."""
    root: str = field(init=False)
    _texts: dict[tuple[int, int], str] = field(default_factory=dict, init=False, repr=False)
    _bytes_read: int = field(default=0, init=False, repr=False)
    _entries: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        self.root = os.path.realpath(self.path)
        if not os.path.isdir(self.root):
            raise ProblemFormatError(str(self.path), None, None, "not a directory")

    def name(self, path: Path | str) -> str:
        """``path`` relative to the package, as written in messages (``data/sample/1.ans``)."""
        text = os.fspath(path)
        base = os.fspath(self.path)
        if os.path.isabs(text) or text.startswith(base + os.sep):
            rel = os.path.relpath(text, base)
            return Path(rel).as_posix()
        return Path(text).as_posix()

    def refuse(self, path: Path | str, problem: str) -> ProblemFormatError:
        """A one-line error naming the package file ``path`` (never its contents)."""
        return ProblemFormatError(f"{self.path}/{self.name(path)}", None, None, problem)

    def _resolved(self, path: Path | str) -> str:
        rel = self.name(path)
        if os.path.isabs(rel) or rel.split("/")[0] == "..":
            raise self.refuse(path, "refused: outside the package")
        real = os.path.realpath(os.path.join(self.root, rel))
        if not _inside(self.root, real):
            raise self.refuse(path, "refused: a link to outside the package")
        return real

    def kind(self, path: Path | str) -> str:
        """``missing``, ``file``, ``dir`` or ``other`` for a package path (a link out is refused)."""
        real = self._resolved(path)
        try:
            mode = os.lstat(real).st_mode
        except OSError:
            return "missing"
        if stat.S_ISREG(mode):
            return "file"
        return "dir" if stat.S_ISDIR(mode) else "other"

    def is_file(self, path: Path | str) -> bool:
        """True when ``path`` is (a link inside the package to) a regular file."""
        return self.kind(path) == "file"

    def is_dir(self, path: Path | str) -> bool:
        """True when ``path`` is (a link inside the package to) a directory."""
        return self.kind(path) == "dir"

    def _open(self, path: Path | str, real: str) -> int:
        parts = os.path.relpath(real, self.root).split(os.sep)
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | (os.O_NONBLOCK if last else os.O_DIRECTORY)
                child = os.open(part, flags, dir_fd=fd)
                os.close(fd)
                fd = child
        except OSError as exc:
            os.close(fd)
            raise self.refuse(path, f"cannot read: {exc.strerror or 'error'}") from None
        return fd

    def read_bytes(self, path: Path | str) -> bytes:
        """The bytes of a regular file of the package (refused: links out, FIFOs, devices, directories)."""
        real = self._resolved(path)
        if real == self.root or self.kind(path) != "file":  # never open a device: opening can act on it
            raise self.refuse(path, "refused: not a regular file")
        fd = self._open(path, real)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise self.refuse(path, "refused: not a regular file")
            if self._bytes_read + info.st_size > MAX_BYTES:
                raise self.refuse(path, f"package larger than {MAX_BYTES} bytes")
            chunks = []
            size = 0
            while chunk := os.read(fd, 1 << 20):
                size += len(chunk)
                if size > info.st_size:  # grew while we read it
                    raise self.refuse(path, "changed while being read")
                chunks.append(chunk)
        finally:
            os.close(fd)
        self._bytes_read += size
        return b"".join(chunks)

    def read_text(self, path: Path | str) -> str:
        """The text of a package file (strict UTF-8); a file reached by several names is read once."""
        real = self._resolved(path)
        try:
            info = os.stat(real)
            key = (info.st_dev, info.st_ino)
        except OSError:
            key = None
        if key is not None and key in self._texts:
            return self._texts[key]
        data = self.read_bytes(path)
        text = decode_text(data, f"{self.path}/{self.name(path)}")
        if key is not None:
            self._texts[key] = text
        return text

    def _entries_of(self, path: Path | str) -> list[os.DirEntry[str]]:
        real = self._resolved(path)
        try:
            with os.scandir(real) as entries:
                found = list(entries)
        except OSError as exc:
            raise self.refuse(path, f"cannot list: {exc.strerror or 'error'}") from None
        self._entries += len(found)
        if self._entries > MAX_ENTRIES:
            raise self.refuse(path, f"more than {MAX_ENTRIES} entries in the package")
        return sorted(found, key=lambda e: e.name)

    def dirs(self, folder: Path | str) -> list[Path]:
        """Subdirectories of ``folder`` (links to directories inside the package count), by name."""
        if not self.is_dir(folder):
            return []
        base = Path(self.name(folder))
        return [base / e.name for e in self._entries_of(folder) if self.is_dir(base / e.name)]

    def files(self, folder: Path | str, suffix: str | None = None) -> list[Path]:
        """Every non-directory under ``folder``, recursively, sorted by package path.

        Links to directories inside the package are walked (each real
        directory once); any link out is refused, whether to a file or a
        directory. Names are the ones written in the package, not the targets.
        """
        if not self.is_dir(folder):
            return []
        return sorted(self._walk(Path(self.name(folder)), suffix, set()), key=lambda p: p.as_posix())

    def _walk(self, folder: Path, suffix: str | None, seen: set[str]) -> Iterator[Path]:
        real = self._resolved(folder)
        if real in seen:
            return
        seen.add(real)
        for entry in self._entries_of(folder):
            child = folder / entry.name
            kind = self.kind(child)
            if kind == "dir":
                yield from self._walk(child, suffix, seen)
            elif suffix is None or entry.name.endswith(suffix):
                yield child


def check_record_path(folder: Path, value: str, field_name: str) -> str:
    """``value`` when it names a place inside ``folder`` (the problem file's directory).

    Records may name a repository or a support file by a relative path; an
    absolute path, a ``..`` that climbs out, or a link leading out would let a
    problem file point codesolve at any directory of the user's. Raises
    ``ValueError`` saying why; the path is checked lexically, and resolved
    when it exists.
    """
    path = Path(value)
    if not value or path.is_absolute() or "\0" in value:
        raise ValueError(f"{field_name}: must be a relative path inside the problem file's directory")
    root = os.path.realpath(folder)
    lexical = os.path.normpath(os.path.join(root, value))
    if not _inside(root, lexical) or not _inside(root, os.path.realpath(lexical)):
        raise ValueError(f"{field_name}: refused: leads outside the problem file's directory")
    return value


def check_repo_source(folder: Path, value: str, field_name: str = "repo_source") -> str:
    """``value`` when it is empty, an ``https://`` URL, or a relative path inside ``folder``.

    Every other form git accepts is refused: ``file://`` and absolute paths
    reach the user's own repositories, ``ssh://`` and ``user@host:`` use the
    user's keys, and ``ext::`` runs a command.
    """
    if not value:
        return value
    if value.startswith("https://"):
        if any(c.isspace() or not c.isprintable() for c in value):
            raise ValueError(f"{field_name}: a URL with spaces or control characters")
        return value
    if "://" in value or "::" in value or (":" in value.split("/", 1)[0]):
        raise ValueError(f"{field_name}: only https:// URLs or relative paths are accepted")
    return check_record_path(folder, value, field_name)

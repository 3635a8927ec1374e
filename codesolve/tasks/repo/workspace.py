"""The user's repository on the host: targets, requirement files, diffs, and applying a fix.

The tree is only ever read until :func:`apply_files`, which refuses when a
file it would write changed since the run read it.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

SKIPPED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
    }
)
"""Folders never copied into the sandbox (nor are virtual environments: folders holding ``pyvenv.cfg``)."""
TREE_CAP = 64 << 20
REQUIREMENT_FILES = ("requirements.txt", "requirements-test.txt", "requirements-dev.txt", "test-requirements.txt")
SOURCE_ROOTS = ("", "src")


class WorkspaceError(ValueError):
    """A target, a file or an apply that cannot be done; the message is one line for the user."""


@dataclass(frozen=True)
class Target:
    """A function to fix: its file (relative to the repo) and its qualified name."""

    path: str
    qualname: str

    @property
    def module(self) -> str:
        """Dotted module name, as imported from its source root."""
        stem = self.path[:-3].removesuffix("/__init__")
        return stem.removeprefix("src/").replace("/", ".")

    @property
    def name(self) -> str:
        """``module:qualname``, the ``--function`` form."""
        return f"{self.module}:{self.qualname}"


def resolve_target(repo: Path, spec: str) -> Target:
    """``package.module:Qualname`` (or ``path/to/file.py:Qualname``) as a :class:`Target` in ``repo``."""
    module, sep, qualname = spec.partition(":")
    if not sep or not module or not qualname:
        raise WorkspaceError(f"--function {spec!r}: expected module:qualname, e.g. pkg.calc:total")
    stem = module[:-3] if module.endswith(".py") else module.replace(".", "/")
    for root in SOURCE_ROOTS:
        for candidate in (f"{stem}.py", f"{stem}/__init__.py"):
            path = f"{root}/{candidate}" if root else candidate
            if (repo / path).is_file() and not (repo / path).is_symlink():
                return Target(path, qualname)
    raise WorkspaceError(f"--function {spec!r}: no module {module} in {repo}")


def snapshot(repo: Path) -> dict[str, bytes]:
    """Every file of ``repo`` a test run needs (relative path → bytes), read once.

    Version control, virtual environments, caches and links are left out. Reading
    once means every run of a fix sees the same tree, whatever the user edits
    meanwhile (``--apply`` then checks that nothing it writes changed).
    """
    files: dict[str, bytes] = {}
    total = 0
    for folder, dirs, names in os.walk(repo):
        here = Path(folder)
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in SKIPPED_DIRS and not (here / d).is_symlink() and not (here / d / "pyvenv.cfg").exists()
        )
        for name in sorted(names):
            path = here / name
            if path.is_symlink() or not path.is_file():
                continue
            data = path.read_bytes()
            total += len(data)
            if total > TREE_CAP:
                raise WorkspaceError(
                    f"{repo} holds more than {TREE_CAP >> 20} MiB of files (besides VCS, venvs, caches)"
                )
            files[path.relative_to(repo).as_posix()] = data
    return files


def source_paths(repo: Path) -> list[str]:
    """Folders to put on ``sys.path`` besides the root: ``src`` when the repo uses that layout."""
    return ["src"] if (repo / "src").is_dir() else []


def requirement_files(repo: Path) -> dict[str, bytes]:
    """The repository's requirement files that decide its environment (name → content)."""
    return {
        name: (repo / name).read_bytes()
        for name in REQUIREMENT_FILES
        if (repo / name).is_file() and not (repo / name).is_symlink()
    }


def digest(data: bytes) -> str:
    """Short content hash, for messages and checks."""
    return hashlib.sha256(data).hexdigest()[:12]


def unified_diff(before: Mapping[str, bytes], after: Mapping[str, bytes]) -> str:
    """A ``git apply``-able unified diff of every file whose bytes changed."""
    chunks: list[str] = []
    for path in sorted(after):
        old, new = before.get(path, b""), after[path]
        if old == new:
            continue
        a = old.decode("utf-8", "surrogateescape").splitlines(keepends=True)
        b = new.decode("utf-8", "surrogateescape").splitlines(keepends=True)
        lines = list(difflib.unified_diff(a, b, f"a/{path}", f"b/{path}"))
        chunks.append(f"diff --git a/{path} b/{path}\n")
        chunks.extend(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
    return "".join(chunks)


def apply_files(repo: Path, snapshot: Mapping[str, bytes], new: Mapping[str, bytes]) -> list[str]:
    """Write ``new`` into ``repo`` if every file still holds its ``snapshot`` bytes; return what was written.

    Refuses (WorkspaceError, nothing written) when any touched file changed since the run read it.
    """
    changed = [p for p in sorted(new) if not (repo / p).is_file() or (repo / p).read_bytes() != snapshot.get(p)]
    if changed:
        raise WorkspaceError(f"refusing to apply: {', '.join(changed)} changed since the run started")
    written = []
    for path in sorted(new):
        target = repo / path
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        with os.fdopen(fd, "wb") as out:
            out.write(new[path])
        os.chmod(tmp, target.stat().st_mode & 0o7777)
        os.replace(tmp, target)
        written.append(path)
    return written

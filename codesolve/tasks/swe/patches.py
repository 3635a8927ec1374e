"""Untrusted patches: what they touch, whether that is safe, and applying them to a fresh tree.

A patch is data from a model (or a user): before any tool sees it, every path
it names is checked: relative, no ``..``, nothing under ``.git`` or our own
``.codesolve`` folder, no packaging metadata or ``.pth`` that Python or pytest
would load, no symlink modes. Applying also refuses a path that goes through a
symlink already in the tree. Applying falls back through ``git apply``,
``git apply --3way`` and ``patch --fuzz``; a failed attempt leaves the tree as
it was.

The tools read headers more loosely than any pattern of ours: ``+++  b/x`` (two
spaces) or a quoted name was invisible to the checks while ``git apply`` and GNU
``patch`` both wrote the file, so a patch could add a ``conftest.py`` that fakes
the tests' results, or set ``core.fsmonitor`` in ``.git/config``, which the host's
next ``git status`` ran. So before each tool writes, its own dry run
(``git apply --numstat``, ``patch --dry-run``) names the files it would touch,
and the patch is refused unless every one of them is a path the checks passed.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from codesolve.tasks.swe.checkout import git

MAX_PATCH_BYTES = 4 << 20
_HEADER = re.compile(
    r"^(?:diff[ \t]+--git[ \t]+a/(\S+)[ \t]+b/(\S+)|(?:---|\+\+\+|\*\*\*)[ \t]+(?:[ab]/)?(\S+)"
    r"|(?:rename|copy)[ \t]+(?:from|to)[ \t]+(\S+)|Index:[ \t]*(\S+))",
    re.M,
)
_SYMLINK = re.compile(r"^(?:new file mode|new mode|old mode|deleted file mode|index \S+) 120000", re.M)
_FORBIDDEN_PARTS = {".git", ".codesolve", "__pycache__"}
_FORBIDDEN_SUFFIXES = (".pth", ".dist-info", ".egg-info", ".egg-link")
_TEST_DIRS = {"tests", "test", "testing"}


class PatchRefused(ValueError):
    """The patch is unsafe or malformed; the message says which path and why."""


class PatchFailed(ValueError):
    """No method could apply the patch; the message has the last tool's complaint."""


@dataclass(frozen=True)
class Applied:
    """A patch applied: how, and which files it touched."""

    method: str
    paths: tuple[str, ...]


def touched_paths(patch: str) -> list[str]:
    """Every path the patch names (headers, renames, copies), ``/dev/null`` left out."""
    found: list[str] = []
    for match in _HEADER.finditer(patch):
        for path in match.groups():
            if path and path != "/dev/null":
                found.append(path)
    return list(dict.fromkeys(found))


def check_path(path: str) -> None:
    """PatchRefused when ``path`` could write outside the tree or into what runs the tests."""
    pure = PurePosixPath(path)
    if path.startswith(("\"", "'")):
        raise PatchRefused(f"path {path!r} is quoted: only plain file names are accepted")
    if pure.is_absolute() or "\\" in path or not path.strip():
        raise PatchRefused(f"path {path!r} is not relative to the repository")
    if ".." in pure.parts:
        raise PatchRefused(f"path {path!r} leaves the repository")
    # As a case-insensitive file system (macOS's, Windows's) reads them: `.GIT/config` is `.git/config`.
    parts = [_folded(part) for part in pure.parts]
    if any(part in _FORBIDDEN_PARTS for part in parts):
        raise PatchRefused(f"path {path!r} is inside a folder patches may not touch")
    if any(part.endswith(_FORBIDDEN_SUFFIXES) for part in parts) or parts[-1] in (
        "sitecustomize.py",
        "usercustomize.py",
    ):
        raise PatchRefused(f"path {path!r} is code Python or pytest loads on its own")


def _folded(part: str) -> str:
    """A path part as case-insensitive file systems compare it (Windows also drops trailing dots and spaces)."""
    return part.casefold().rstrip(". ") or part


def check_patch(patch: str) -> list[str]:
    """The paths of a safe patch (PatchRefused otherwise)."""
    if len(patch.encode()) > MAX_PATCH_BYTES:
        raise PatchRefused(f"the patch is larger than {MAX_PATCH_BYTES >> 20} MiB")
    if "\0" in patch:
        raise PatchRefused("the patch holds NUL bytes")
    if _SYMLINK.search(patch):
        raise PatchRefused("the patch creates or changes a symbolic link")
    paths = touched_paths(patch)
    if patch.strip() and not paths:
        raise PatchRefused("the patch names no file")
    for path in paths:
        check_path(path)
    return paths


def is_test_path(path: str) -> bool:
    """Test modules, conftest files, test folders and pytest's configuration files."""
    parts = [_folded(part) for part in PurePosixPath(path).parts] or [""]
    name = parts[-1]
    if name in ("conftest.py", "pytest.ini", "tox.ini") or name.startswith("test_") or name.endswith("_test.py"):
        return True
    return any(part in _TEST_DIRS for part in parts[:-1])


def edits_to_tests(patch: str) -> list[str]:
    """The test files a patch touches (a patch that edits the tests cannot be graded by them)."""
    return [p for p in touched_paths(patch) if is_test_path(p)]


def through_symlink(tree: Path, path: str) -> bool:
    """True when ``path`` in ``tree`` is, or goes through, a symbolic link."""
    current = tree
    for part in PurePosixPath(path).parts:
        current = current / part
        if current.is_symlink():
            return True
    return False


def apply_patch(tree: Path, patch: str, name: str = "patch") -> Applied:
    """Apply ``patch`` to ``tree`` (PatchRefused if unsafe, PatchFailed if no method applies it)."""
    paths = check_patch(patch)
    if not patch.strip():
        return Applied("empty", ())
    for path in paths:
        if through_symlink(tree, path):
            raise PatchRefused(f"path {path!r} goes through a symbolic link in the repository")
    data = patch.encode() if patch.endswith("\n") else (patch + "\n").encode()
    saved = _snapshot(tree, paths)
    errors: list[str] = []
    _only_named(_git_targets(tree, data), paths, "git apply")  # (both of its methods read the same names)
    for method, args in (
        ("git apply", ["apply", "--whitespace=nowarn", "-"]),
        ("git apply --3way", ["apply", "--3way", "--whitespace=nowarn", "-"]),
    ):
        proc = git(args, tree, stdin=data, check=False)
        if proc.returncode == 0:
            return Applied(method, tuple(paths))
        errors.append(_last_line(proc.stderr))
        _restore(tree, saved)
    try:
        _only_named(_patch_targets(tree, data), paths, "patch")
        proc = _gnu_patch(tree, data, "-s")
    except subprocess.TimeoutExpired:
        _restore(tree, saved)
        raise PatchFailed(f"the {name} does not apply: patch took longer than 120s") from None
    if proc.returncode == 0:
        return Applied("patch --fuzz", tuple(paths))
    errors.append(_last_line(proc.stdout + proc.stderr))
    _restore(tree, saved)
    raise PatchFailed(f"the {name} does not apply: {errors[0]}")


def _gnu_patch(tree: Path, data: bytes, *extra: str) -> subprocess.CompletedProcess[bytes]:
    # --unified: never read the input as an ed script (GNU patch once ran `!` commands from those).
    return subprocess.run(
        ["patch", "-p1", "--unified", "--fuzz=3", "--batch", "--forward", "--no-backup-if-mismatch",
         "--reject-file=-", *extra],
        cwd=tree, input=data, capture_output=True, timeout=120, check=False,
    )  # fmt: skip


def _git_targets(tree: Path, data: bytes) -> list[str]:
    """The files ``git apply`` would write, as it reads the patch (none when it cannot read it)."""
    proc = git(["apply", "--numstat", "-z", "-"], tree, stdin=data, check=False)
    if proc.returncode != 0:
        return []
    fields = proc.stdout.decode("utf-8", "surrogateescape").split("\0")
    names: list[str] = []
    index = 0
    while index < len(fields):
        # "added<TAB>deleted<TAB>path", or for a rename or copy "added<TAB>deleted<TAB>" then old and new.
        path = fields[index].split("\t", 2)[-1] if fields[index].count("\t") >= 2 else ""
        if fields[index] and not path:
            names += fields[index + 1 : index + 3]
            index += 3
            continue
        if path:
            names.append(path)
        index += 1
    return names


_CHECKING = re.compile(r"^checking file (.*?)(?: \((?:renamed|copied) from (.*)\))?$", re.M)


def _patch_targets(tree: Path, data: bytes) -> list[str]:
    """The files GNU ``patch`` would write, from its own dry run (quoted names come back quoted)."""
    proc = _gnu_patch(tree, data, "--dry-run")
    out = proc.stdout.decode("utf-8", "surrogateescape")
    return [name for match in _CHECKING.finditer(out) for name in match.groups() if name]


def _only_named(targets: Sequence[str], named: Sequence[str], tool: str) -> None:
    """PatchRefused when ``tool`` would write a file the checked headers did not name."""
    plain = set(named)  # (a list searched once per target was quadratic in a patch of many files)
    for target in targets:
        if target not in plain:
            raise PatchRefused(f"{tool} reads the patch as writing {target!r}, which its headers do not name plainly")


def _snapshot(tree: Path, paths: Sequence[str]) -> dict[str, bytes | None]:
    """The bytes of each path (None: absent), so a failed attempt leaves earlier changes alone."""
    return {p: (tree / p).read_bytes() if (tree / p).is_file() else None for p in paths}


def _restore(tree: Path, saved: Mapping[str, bytes | None]) -> None:
    for path, data in saved.items():
        target = tree / path
        if data is None:
            if target.is_file():
                target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    git(["reset", "-q"], tree, check=False)  # --3way stages what it merged: unstage (the files are restored)


def _last_line(data: bytes) -> str:
    lines = [line for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    return (lines[0] if lines else "no message")[:300]

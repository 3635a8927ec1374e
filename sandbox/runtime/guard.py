"""Keeping one test from touching the next. Standard library only.

Tests run as the same uid as the driver, so nothing on disk is out of their
reach. Instead of trusting permissions, the driver:

* snapshots the program and checker files once they are built (before any
  test runs) and restores them whenever a test changed them;
* empties every writable place between tests, except what it keeps itself.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

MAX_SNAPSHOT_BYTES = 256 << 20
_FORCE_S = 120


class Snapshot:
    """The exact files under some directories, restorable after tampering.

    Checking is by ``lstat`` only: any write, rename or ``utime`` updates a
    file's ctime (which no unprivileged call can set back), so an unchanged
    (inode, size, mode, mtime, ctime) means unchanged content, without reading
    a possibly large binary before every test.
    """

    def __init__(self, roots: list[Path]) -> None:
        self.roots = [r for r in roots if r.is_dir()]
        self.files: dict[Path, tuple[bytes, int]] = {}
        total = 0
        for root in self.roots:
            for path in sorted(root.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    data = path.read_bytes()
                    total += len(data)
                    if total > MAX_SNAPSHOT_BYTES:
                        raise RuntimeError(f"program files exceed {MAX_SNAPSHOT_BYTES >> 20} MiB")
                    self.files[path] = (data, path.stat().st_mode & 0o777)
        self.seen = self._signatures()

    def _signatures(self) -> dict[str, tuple[int, ...]]:
        # os.scandir, not pathlib: this runs before every test.
        found: dict[str, tuple[int, ...]] = {}
        for root in self.roots:
            _sign(str(root), os.lstat(root), found)
        return found

    def intact(self) -> bool:
        """True when nothing under the roots was added, removed or touched."""
        try:
            return self._signatures() == self.seen
        except (OSError, RecursionError):
            return False

    def restore(self) -> bool:
        """Put every file back as it was; return whether anything had changed."""
        if self.intact():
            return False
        for root in self.roots:
            fresh_dir(root)
        for path, (data, mode) in self.files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            path.chmod(mode)
        self.seen = self._signatures()
        return True


def _sign(path: str, st: os.stat_result, found: dict[str, tuple[int, ...]]) -> None:
    found[path] = (st.st_ino, st.st_size, st.st_mode, st.st_mtime_ns, st.st_ctime_ns)
    if stat.S_ISDIR(st.st_mode):
        with os.scandir(path) as entries:
            for entry in entries:
                _sign(entry.path, entry.stat(follow_symlinks=False), found)


def _remove(path: str | Path) -> None:
    """Remove a file, a link or a whole tree, whatever modes a test gave it.

    The fast way first; a tree it cannot take (directories inside made
    unwritable or unreadable, or nested deeper than a recursive walk goes) is
    handed to coreutils, which make every directory ours and walk any depth.
    """
    try:
        st = os.lstat(path)
    except OSError:
        return
    if not stat.S_ISDIR(st.st_mode):
        try:
            os.unlink(path)
        except OSError:
            pass
        return
    try:
        shutil.rmtree(path)
    except (OSError, RecursionError):
        _force_remove(str(path))


def _force_remove(path: str) -> None:
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}
    for argv in (["chmod", "-R", "u+rwx", "--", path], ["rm", "-rf", "--", path]):
        try:
            subprocess.run(
                argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, timeout=_FORCE_S, check=False,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return  # what is left is found by the caller's check


class Keep:
    """Paths a wipe spares (and the directories leading to them), as strings, worked out once."""

    def __init__(self, paths: set[Path]) -> None:
        self.kept = frozenset(str(k) for k in paths)
        self.parents = frozenset(str(p) for k in paths for p in k.parents)


def wipe_except(tops: list[str], keep: Keep) -> None:
    """Remove everything under each top directory except the kept paths (and their parents).

    ``tops`` and the kept paths must be absolute and free of symlinks (the
    driver's own paths are): resolving them on every call would cost more than the wipe.
    """
    for top in tops:
        _wipe_dir(top, keep.kept, keep.parents)


def _wipe_dir(directory: str, kept: frozenset[str], parents: frozenset[str]) -> None:
    try:
        with os.scandir(directory) as found:
            entries = list(found)
    except OSError:
        return
    for entry in entries:
        if entry.path in kept:
            continue
        if entry.path in parents and entry.is_dir(follow_symlinks=False):
            _wipe_dir(entry.path, kept, parents)
        else:
            _remove(entry.path)


def fresh_dir(path: Path) -> Path:
    """``path`` as an empty directory of ours, whatever a test left there (a file, a link…)."""
    try:
        st: os.stat_result | None = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISDIR(st.st_mode):
        os.unlink(path)  # a file or a link where our directory was
        st = None
    if st is None:
        os.mkdir(path, 0o700)
        return path
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(path, 0o700)  # before emptying: a test may have made it unreadable
    with os.scandir(path) as found:
        entries = list(found)
    for entry in entries:
        _remove(entry.path)
    return path


def leftovers(tops: list[str]) -> list[str]:
    """What is still under each top directory (after a full wipe, there must be nothing)."""
    found: list[str] = []
    for top in tops:
        try:
            found += [os.path.join(top, name) for name in os.listdir(top)]
        except FileNotFoundError:
            continue
        except OSError as exc:
            found.append(f"{top}: {exc.strerror}")
    return found

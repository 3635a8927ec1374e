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
import sys
from collections.abc import Iterable
from pathlib import Path

from sandbox.runtime.nearby import near
from sandbox.runtime.stamps import stamps_pass

MAX_SNAPSHOT_BYTES = 256 << 20
_FORCE_S = 120


_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_MOUNTS: dict[str, int] = {}
"""Tops found to be mount points, opened once per process and kept open: no test can move,
replace or unmount one, so the descriptor stays good for every later batch (the agent runs
many). Opening and checking them cost a dozen walks from ``/`` per batch."""


class Anchors:
    """Open descriptors on the top directories the guards work in; every path under them is
    reached from one of these instead of by a walk from ``/``.

    In a container whose root file system is fuse-overlayfs (Docker's storage driver on
    this project's CI machines), the permission check of a walk from ``/`` is a round trip
    to the fuse daemon: ~50 µs, against ~1.5 µs for a walk that stays on tmpfs. The guards
    run a dozen walks before every test, so that alone cost more than a fast test.

    A path is anchored on the *outermost* top above it. In a container the tops are mount
    points, which no test can rename or replace, so a path relative to one always names
    what its absolute form names. A top that is not a mount point (the local backend's
    batch directory) could be renamed by a test and something else put in its place:
    :meth:`moved`, before every test, finds out.
    """

    def __init__(self, tops: Iterable[str]) -> None:
        self.fds: dict[str, int] = {}
        self.movable: set[str] = set()
        """Tops that are not mount points (checked by :meth:`moved`; closed by :meth:`close`)."""
        for top in sorted(set(tops), key=len):
            if top in self.fds or any(top.startswith(outer + "/") for outer in self.fds):
                continue  # reached from an outer top
            fd = _MOUNTS.get(top)
            if fd is None:
                try:
                    fd = os.open(top, _DIR)
                except OSError:
                    continue  # not there (yet): reached by its absolute path
                if os.path.ismount(top):
                    _MOUNTS[top] = fd
                else:
                    self.movable.add(top)
            self.fds[top] = fd

    def moved(self) -> list[str]:
        """Tops that are no longer the directory opened at their path (renamed, replaced).

        Nothing follows such a path again: what is there now is the test's, and it
        could be a link to anywhere on the host.
        """
        found = []
        for top in self.movable:
            held = os.fstat(self.fds[top])
            try:
                now = os.lstat(top)
            except OSError:
                found.append(top)
                continue
            if (held.st_dev, held.st_ino) != (now.st_dev, now.st_ino):
                found.append(top)
        return found

    def at(self, path: str) -> tuple[int | None, str]:
        """``(dir_fd, relative path)`` for ``path`` (``(None, path)`` outside every top)."""
        for top, fd in self.fds.items():
            if path == top:
                return fd, "."
            if path.startswith(top) and path[len(top)] == "/":
                return fd, path[len(top) + 1 :]
        return None, path

    def open_dir(self, path: str) -> int:
        """A new descriptor on the directory ``path`` (never following a link at its end)."""
        fd, rel = self.at(path)
        return os.open(rel, _DIR, dir_fd=fd)

    def close(self) -> None:
        """Close every anchor of ours (the shared mount points stay open)."""
        for top in self.movable:
            os.close(self.fds[top])
        self.fds = {}
        self.movable = set()


class Tampered(Exception):
    """A test moved or replaced a directory of the batch's own: nothing of the batch can be
    trusted from here on."""


class Snapshot:
    """The exact files under some directories, restorable after tampering.

    Checking is by ``lstat`` only: any write, rename or ``utime`` updates a
    file's ctime (which no unprivileged call can set back), so an unchanged
    (inode, size, mode, mtime, ctime) means unchanged content, without reading
    a possibly large binary before every test. For that, a change must get a later
    ctime than the one recorded: :meth:`clock_past` (see :mod:`sandbox.runtime.stamps`).
    """

    def __init__(
        self, roots: list[Path], anchors: Anchors, known: dict[Path, bytes] | None = None, probe: Path | None = None
    ) -> None:
        """``known``: bytes of files under the roots already in memory, exactly as they are on disk
        (what compiling just put there): taken as they are when the size agrees, not read again.
        ``probe``: a directory of ours on the roots' file system where :meth:`clock_past` reads
        the clock (the batch's scratch directory; without one it waits for nothing)."""
        self.anchors = anchors
        self.probe = probe
        known = known or {}
        self.roots = [r for r in roots if Path(near(r)).is_dir()]
        self.files: dict[Path, tuple[bytes, int]] = {}
        total = 0
        for root in self.roots:
            here = Path(near(root))  # (read from here; kept under the absolute path the anchors know)
            for path in sorted(here.rglob("*")):
                if path.is_file() and not path.is_symlink():
                    full, st = root / path.relative_to(here), path.stat()
                    data = known.get(full)
                    if data is None or len(data) != st.st_size:
                        data = _read_own(path)
                    total += len(data)
                    if total > MAX_SNAPSHOT_BYTES:
                        raise RuntimeError(f"program files exceed {MAX_SNAPSHOT_BYTES >> 20} MiB")
                    self.files[full] = (data, st.st_mode & 0o777)
        self.seen = self._signatures()
        self.unstamped = True
        """Signatures recorded since the clock was last seen past them (see :meth:`clock_past`)."""

    def _signatures(self) -> dict[str, tuple[int, ...]]:
        # Descriptors and os.scandir, not pathlib: this runs before every test.
        found: dict[str, tuple[int, ...]] = {}
        for root in self.roots:
            fd, rel = self.anchors.at(str(root))
            _sign(fd, rel, str(root), os.lstat(rel, dir_fd=fd), found)
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
            fresh_dir(root, self.anchors)
        for path, (data, mode) in self.files.items():
            write_at(self.anchors, str(path), data, mode)
        self.seen = self._signatures()
        self.unstamped = True
        return True

    def clock_past(self) -> None:
        """Return once a change to anything signed gets a later ctime than every one recorded:
        called before a test runs (late, so that on a coarse clock the tick has usually passed)."""
        if not self.unstamped or self.probe is None or not self.seen:
            return
        directory = self.anchors.open_dir(str(self.probe))
        try:
            passed = stamps_pass(directory, max(signature[4] for signature in self.seen.values()))
        finally:
            os.close(directory)
        if not passed:
            raise RuntimeError("the file system's clock did not move past the program files' change times")
        self.unstamped = False


def _read_own(path: Path) -> bytes:
    """A file of ours, even one made execute-only (a compiled checker: see custom_checker)."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o400:
        return path.read_bytes()
    os.chmod(path, mode | 0o400)
    try:
        return path.read_bytes()
    finally:
        os.chmod(path, mode)


def _sign(dir_fd: int | None, name: str, path: str, st: os.stat_result, found: dict[str, tuple[int, ...]]) -> None:
    found[path] = (st.st_ino, st.st_size, st.st_mode, st.st_mtime_ns, st.st_ctime_ns)
    if not stat.S_ISDIR(st.st_mode):
        return
    sub = os.open(name, _DIR, dir_fd=dir_fd)
    try:
        with os.scandir(sub) as entries:
            for entry in entries:
                _sign(sub, entry.name, f"{path}/{entry.name}", entry.stat(follow_symlinks=False), found)
    finally:
        os.close(sub)


def _remove(dir_fd: int | None, name: str, shown: str, is_dir: bool | None = None) -> None:
    """Remove a file, a link or a whole tree, whatever modes a test gave it.

    ``name`` is relative to ``dir_fd``; ``shown`` is its absolute path. The
    fast way first; a tree it cannot take (directories inside made unwritable
    or unreadable, or nested deeper than a recursive walk goes) is handed to
    coreutils, which make every directory ours and walk any depth.
    """
    if is_dir is None:
        try:
            is_dir = stat.S_ISDIR(os.lstat(name, dir_fd=dir_fd).st_mode)
        except OSError:
            return
    if not is_dir:
        try:
            os.unlink(name, dir_fd=dir_fd)
        except OSError:
            pass
        return
    try:
        _rmtree_at(dir_fd, name)
    except (OSError, RecursionError):
        _force_remove(dir_fd, name, shown)


def _rmtree_at(dir_fd: int | None, name: str) -> None:
    if dir_fd is None:
        shutil.rmtree(name)
    elif sys.version_info < (3, 11):
        # rmtree takes no dir_fd before 3.11 (the Python 3.9 image): the same fd-based walk,
        # started through the /proc link of the directory we hold, never a path a test could swap.
        shutil.rmtree(f"/proc/self/fd/{dir_fd}/{name}")
    else:
        shutil.rmtree(name, dir_fd=dir_fd)


def _force_remove(dir_fd: int | None, name: str, shown: str) -> None:
    # Run from the directory we hold, on a bare name: never through a path a test could
    # have swapped for a link meanwhile (neither tool follows links inside the tree).
    cwd, fds, target = (f"/proc/self/fd/{dir_fd}", (dir_fd,), name) if dir_fd is not None else (None, (), shown)
    env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}
    for argv in (["chmod", "-R", "u+rwx", "--", target], ["rm", "-rf", "--", target]):
        try:
            subprocess.run(
                argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, timeout=_FORCE_S, check=False, cwd=cwd, pass_fds=fds,
            )  # fmt: skip
        except (OSError, subprocess.TimeoutExpired):
            return  # what is left is found by the caller's check


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd`` (``os.write`` may write less than it is given)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def write_at(anchors: Anchors, path: str, data: bytes, mode: int) -> None:
    """Write a file of ours (making its directories), every step from an anchor and never
    through a link: a test may have put links where our directories were."""
    fd, rel = anchors.at(path)
    opened: list[int] = []
    if fd is None:
        fd = os.open("/", _DIR)
        opened.append(fd)
        rel = rel.lstrip("/")
    try:
        *folders, name = rel.split("/")
        for folder in folders:
            if folder in ("", "."):
                continue
            try:
                os.mkdir(folder, 0o700, dir_fd=fd)
            except FileExistsError:
                pass
            fd = os.open(folder, _DIR, dir_fd=fd)
            opened.append(fd)
        out = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, mode, dir_fd=fd)
        try:
            write_all(out, data)
            os.fchmod(out, mode)
        finally:
            os.close(out)
    finally:
        for held in opened:
            os.close(held)


class Keep:
    """Paths a wipe spares (and the directories leading to them), as strings, worked out once."""

    def __init__(self, paths: set[Path]) -> None:
        self.kept = frozenset(str(k) for k in paths)
        self.parents = frozenset(str(p) for k in paths for p in k.parents)


def wipe_except(tops: list[str], keep: Keep, anchors: Anchors) -> None:
    """Remove everything under each top directory except the kept paths (and their parents).

    ``tops`` and the kept paths must be absolute and free of symlinks (the
    driver's own paths are): resolving them on every call would cost more than the wipe.
    """
    for top in tops:
        try:
            fd = anchors.open_dir(top)
        except OSError:
            continue
        try:
            _wipe_dir(fd, top, keep.kept, keep.parents)
        finally:
            os.close(fd)


def _wipe_dir(fd: int, directory: str, kept: frozenset[str], parents: frozenset[str]) -> None:
    try:
        with os.scandir(fd) as found:
            entries = list(found)
    except OSError:
        return
    for entry in entries:
        path = f"{directory}/{entry.name}"
        if path in kept:
            continue
        is_dir = entry.is_dir(follow_symlinks=False)
        if path in parents and is_dir:
            try:
                sub = os.open(entry.name, _DIR, dir_fd=fd)
            except OSError:
                continue
            try:
                _wipe_dir(sub, path, kept, parents)
            finally:
                os.close(sub)
        else:
            _remove(fd, entry.name, path, is_dir)


def fresh_dir(path: Path, anchors: Anchors) -> Path:
    """``path`` as an empty directory of ours, whatever a test left there (a file, a link…)."""
    fd, rel = anchors.at(str(path))
    try:
        st: os.stat_result | None = os.lstat(rel, dir_fd=fd)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISDIR(st.st_mode):
        os.unlink(rel, dir_fd=fd)  # a file or a link where our directory was
        st = None
    if st is None:
        os.mkdir(rel, 0o700, dir_fd=fd)
        return path
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(rel, 0o700, dir_fd=fd)  # before emptying: a test may have made it unreadable
    sub = os.open(rel, _DIR, dir_fd=fd)
    try:
        with os.scandir(sub) as found:
            entries = list(found)
        for entry in entries:
            _remove(sub, entry.name, f"{path}/{entry.name}", entry.is_dir(follow_symlinks=False))
    finally:
        os.close(sub)
    return path


def leftovers(tops: list[str], anchors: Anchors | None = None) -> list[str]:
    """What is still under each top directory (after a full wipe, there must be nothing); read
    through ``anchors`` where they hold the top (no walk from ``/``)."""
    found: list[str] = []
    for top in tops:
        held = anchors.fds.get(top) if anchors is not None else None
        try:
            found += [os.path.join(top, name) for name in os.listdir(top if held is None else held)]
        except FileNotFoundError:
            continue
        except OSError as exc:
            found.append(f"{top}: {exc.strerror}")
    return found

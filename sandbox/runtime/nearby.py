"""Reaching the batch's files and ``/proc`` without a walk from ``/``. Standard library only.

On Docker's fuse-overlayfs storage driver a container's ``/`` is a FUSE file system: every path
walked from it is a round trip to a daemon on the host, 200-350 µs measured in a sandbox
container, against ~2 µs for the same file reached from a directory already open. The agent
walked ~35 such paths per batch (writing the program, fingerprinting it, snapshotting it,
opening ``/proc`` tables), more time than a fast test takes.

So the agent reaches them from places it holds instead:

* the work dir is a tmpfs mounted at the container's working directory, which the agent never
  leaves (nothing in it calls ``chdir``): a path under it is walked from there. It names the
  same file as its absolute form, since a mount point cannot be renamed, replaced or unmounted
  by a test (no privileges, and the root file system is read-only);
* ``/proc`` and the cgroup's files are opened once per process and kept.

Outside a container (the local backend) nothing is translated: :func:`work_from_here` is never
called there, and a batch directory that is not a mount point could be renamed under us.
"""

from __future__ import annotations

import os

_BASE = ""
"""The working directory, once :func:`work_from_here` recorded it ("" until then)."""
_HELD: dict[str, int | None] = {}
"""Files and directories opened once per process (None: it could not be opened)."""
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC


def work_from_here() -> None:
    """From now on, :func:`near` walks paths under the working directory from it (call once, in
    a container's agent, whose working directory is the work dir's mount point)."""
    global _BASE
    cwd = os.getcwd()
    _BASE = "" if cwd == "/" else cwd


def near(path: str | os.PathLike[str]) -> str:
    """``path``, relative to the working directory when it lies under it (see :func:`work_from_here`);
    unchanged otherwise."""
    text = os.fspath(path)
    return beneath(text, _BASE) if _BASE else text


def beneath(path: str, base: str) -> str:
    """``path`` relative to the directory ``base`` (absolute, not ``/``) when it lies under it
    (``.`` for ``base`` itself); unchanged otherwise. (Part of the fork server's code too: see
    ``forkserver.beneath_here``.)"""
    if path.startswith(base):
        rest = path[len(base) :]
        if not rest:
            return "."
        if rest[0] == "/":
            return rest.lstrip("/") or "."
    return path


def held(path: str, directory: bool = False) -> int | None:
    """A descriptor on ``path``, opened on the first call and kept for the process's life (None
    if it could not be opened). Callers must not close it: ``os.dup`` it to own one."""
    if path not in _HELD:
        try:
            _HELD[path] = os.open(path, _DIR if directory else os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            _HELD[path] = None
    return _HELD[path]


def proc() -> int | None:
    """A descriptor on ``/proc`` (see :func:`held`)."""
    return held("/proc", directory=True)


def unwritable(paths: list[str]) -> bool:
    """True when none of ``paths`` (that exists) can be written by this process's uid, nor can
    anything be created in their directories: what is found there now is found there later."""
    for path in paths:
        if not path:
            return False  # an empty PATH entry is the working directory
        for place in (path, os.path.dirname(path)):
            if os.access(place, os.W_OK, effective_ids=False) and os.path.exists(place):
                return False
    return True


"""A clean slate before every test: every writable place emptied, the program restored.
Standard library only.

Tests run as the driver's uid, so nothing on disk is out of their reach (see
:mod:`sandbox.runtime.guard` for the tools); this is the driver's use of them.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox.runtime.guard import Anchors, Keep, Snapshot, Tampered, fresh_dir, wipe_except
from sandbox.runtime.nearby import near

if TYPE_CHECKING:
    from sandbox.runtime.wire import Spec


class Slate:
    """The writable places of one batch, and the program and checker files to keep."""

    def __init__(self, spec: Spec) -> None:
        work = Path(spec["work"])
        self.program_dirs = [Path(spec["prog"]), work / "chk"]
        # The scratch dir is kept (then emptied by fresh_dir): removing and re-making it costs more.
        real_work = Path(resolved_work(spec["work"]))
        kept = {real_work / p.relative_to(work) if p.is_relative_to(work) else p.resolve() for p in self.program_dirs}
        self.scratch = work / "scratch"
        """Each test's working directory, emptied before every test."""
        self.keep = Keep({*kept, real_work / "scratch"})
        self.wipe_tops = [*map(resolved_top, spec.get("wipe", [])), str(real_work)]
        self.anchors = Anchors(self.wipe_tops)
        self.snapshot: Snapshot | None = None

    def remember(self, compiled: tuple[tuple[str, bytes, int], ...] = ()) -> None:
        """Everything the tests must not change is built: remember it exactly (``compiled``: files
        in the program's directory whose bytes are known already, as they are on disk)."""
        prog = self.program_dirs[0]
        known = {prog / rel: data for rel, data, _ in compiled}
        self.snapshot = Snapshot(self.program_dirs, self.anchors, known, probe=self.scratch)

    def scratch_dir(self) -> int:
        """Undo what earlier tests did (see :meth:`clean`), and hand out the emptied scratch
        directory (an open descriptor: the test starts there without a path walk)."""
        self.clean()
        return self.anchors.open_dir(str(self.scratch))

    def clean(self) -> None:
        """Empty every writable place, the last test's own directory included, then restore the
        program and checker files (a test may have filled the disk, or planted files for the
        next test or for the checker): emptied first, so that a full disk cannot stop the
        restore."""
        moved = self.anchors.moved()
        if moved:
            raise Tampered(f"the program moved the sandbox's own directory {moved[0]} (an attack on the sandbox)")
        wipe_except(self.wipe_tops, self.keep, self.anchors)
        fresh_dir(self.scratch, self.anchors)
        if self.snapshot is not None:
            try:
                self.snapshot.restore()
            except OSError as exc:  # the program took what the restore needs (outside our places)
                raise Tampered(f"the program's files could not be restored after a test: {exc}") from exc
            self.snapshot.clock_past()  # (what runs next, a test or a checker, may change them)

    def close(self) -> None:
        """Release the anchors."""
        self.anchors.close()


@cache
def resolved_top(path: str) -> str:
    """The real path of a place the wipe empties (in a container: a mount point whose parents
    are read-only or root's, so it is the same for every batch; worked out once per process,
    since each step of a walk from ``/`` is a round trip to a fuse root's daemon)."""
    return os.path.realpath(path)


def resolved_work(work: str) -> str:
    """The real path of the batch directory: its parent's (the same for every batch) and its
    own name. The directory was made by the agent or the host just now, not a link (and no
    test has run yet): the same as ``os.path.realpath``, without walking every step again."""
    parent, name = os.path.split(os.path.abspath(work))
    if os.path.islink(near(work)) or name in ("", ".", ".."):
        return os.path.realpath(work)
    return os.path.join(resolved_top(parent), name)


def open_dir(path: str) -> int:
    """A descriptor on ``path`` (a command's own working directory)."""
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

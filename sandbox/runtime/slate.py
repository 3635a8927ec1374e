"""A clean slate before every test: every writable place emptied, the program restored.
Standard library only.

Tests run as the driver's uid, so nothing on disk is out of their reach (see
:mod:`sandbox.runtime.guard` for the tools); this is the driver's use of them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox.runtime.guard import Anchors, Keep, Snapshot, Tampered, fresh_dir, wipe_except

if TYPE_CHECKING:
    from sandbox.runtime.wire import Spec


class Slate:
    """The writable places of one batch, and the program and checker files to keep."""

    def __init__(self, spec: Spec) -> None:
        work = Path(spec["work"])
        self.program_dirs = [Path(spec["prog"]), work / "chk"]
        # The scratch dir is kept (then emptied by fresh_dir): removing and re-making it costs more.
        kept = {p.resolve() for p in self.program_dirs}
        self.scratch = work / "scratch"
        """Each test's working directory, emptied before every test."""
        self.keep = Keep({*kept, work.resolve() / "scratch"})
        self.wipe_tops = [str(Path(top).resolve()) for top in (*spec.get("wipe", []), spec["work"])]
        self.anchors = Anchors(self.wipe_tops)
        self.snapshot: Snapshot | None = None

    def remember(self) -> None:
        """Everything the tests must not change is built: remember it exactly."""
        self.snapshot = Snapshot(self.program_dirs, self.anchors)

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

    def close(self) -> None:
        """Release the anchors."""
        self.anchors.close()


def open_dir(path: str) -> int:
    """A descriptor on ``path`` (a command's own working directory)."""
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

"""A change to a snapshotted file always shows in its change time, whatever the kernel's clock.

Kernels before 6.13 stamp files from a coarse clock that moves once a tick; this machine's
has fine-grained (multigrain) times, so the coarse case is driven here by a model of the
file system's clock (:class:`TickClock`), and the real file system checks the rest."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.runtime.guard import Anchors, Snapshot
from sandbox.runtime.slate import Slate
from sandbox.runtime.stamps import PROBE, STEP_S, later_stamps


class TickClock:
    """A file system's clock and one probe file on it. The coarse clock moves by ``tick_ns``
    every ``sleeps_per_tick`` sleeps of the caller. With ``fine`` (multigrain times), a change
    right after a read of the file's time gets a fine-grained time, later than every time given
    out so far (the floor); other changes get the coarse time, never below the floor."""

    def __init__(self, coarse_ns: int, tick_ns: int, sleeps_per_tick: int, fine: bool) -> None:
        self.coarse = coarse_ns
        self.tick = tick_ns
        self.per_tick = sleeps_per_tick
        self.fine = fine
        self.floor = 0
        self.ctime = coarse_ns
        self.read_since_change = False
        self.sleeps = 0

    def stamp(self) -> int:
        self.read_since_change = True
        return self.ctime

    def change(self) -> None:
        if self.fine and self.read_since_change:
            self.floor = max(self.coarse, self.floor) + 1
            self.ctime = self.floor
        else:
            self.ctime = self.next_change()
        self.read_since_change = False

    def sleep(self, seconds: float) -> None:
        assert seconds == STEP_S
        self.sleeps += 1
        if self.sleeps % self.per_tick == 0:
            self.coarse += self.tick

    def next_change(self) -> int:
        """The time a test's change made now would get (it reads nothing first)."""
        return max(self.coarse, self.floor) if self.fine else self.coarse


@given(
    age=st.integers(min_value=0, max_value=3),
    offset=st.integers(min_value=0, max_value=999),
    tick=st.integers(min_value=1_000, max_value=10_000_000),
    per_tick=st.integers(min_value=1, max_value=20),
    fine=st.booleans(),
)
def test_once_the_wait_is_over_a_change_gets_a_later_time(
    age: int, offset: int, tick: int, per_tick: int, fine: bool
) -> None:
    """The newest time recorded was given out ``age`` ticks ago on a coarse clock (0: in this
    very tick, as when a restore just wrote), or is a fine-grained time ``offset`` past the
    coarse clock: either way the wait ends with every later change stamped later than it, and
    a fine-grained clock is never slept on."""
    clock = TickClock(coarse_ns=10**12, tick_ns=tick, sleeps_per_tick=per_tick, fine=fine)
    if fine:
        clock.floor = newest = clock.coarse + offset
    else:
        newest = clock.coarse - age * tick
    assert later_stamps(clock.stamp, clock.change, newest, clock.sleep) is True
    assert clock.next_change() > newest
    assert clock.sleeps == 0 if fine or age > 0 else clock.sleeps <= per_tick


def test_a_clock_that_never_moves_is_reported_not_waited_for_forever() -> None:
    clock = TickClock(coarse_ns=5, tick_ns=0, sleeps_per_tick=1, fine=False)
    assert later_stamps(clock.stamp, clock.change, 5, clock.sleep, steps=50) is False
    assert clock.sleeps == 50


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "work" / "prog").mkdir(parents=True)
    (tmp_path / "work" / "scratch").mkdir()
    (tmp_path / "work" / "prog" / "main.py").write_text("print('the real program')\n")
    return tmp_path / "work"


def _rewrite_in_place(path: Path) -> None:
    """What a test would do at once: same size, same inode, mode and mtime put back."""
    st_before = path.stat()
    mode = stat.S_IMODE(st_before.st_mode)
    os.chmod(path, mode | 0o200)
    with open(path, "r+b") as fh:
        fh.write(b"#" * st_before.st_size)
    os.chmod(path, mode)
    os.utime(path, ns=(st_before.st_atime_ns, st_before.st_mtime_ns))


def test_a_rewrite_right_after_a_snapshot_or_a_restore_is_always_seen(work: Path) -> None:
    anchors = Anchors([str(work)])
    try:
        snap = Snapshot([work / "prog"], anchors, probe=work / "scratch")
        for _ in range(200):  # many times: a coarse tick would otherwise hide some of them
            snap.clock_past()  # (as the slate does before every test)
            assert not snap.unstamped
            _rewrite_in_place(work / "prog" / "main.py")
            assert not snap.intact()
            assert snap.restore()
            assert (work / "prog" / "main.py").read_text() == "print('the real program')\n"
        assert os.listdir(work / "scratch") == [], "the probe is made and removed"
        assert not (work / "prog" / PROBE).exists()
    finally:
        anchors.close()


def test_the_probe_is_never_followed_through_a_link(work: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.write_text("not ours\n")
    (work / "scratch" / PROBE).symlink_to(outside)
    anchors = Anchors([str(work)])
    try:
        Snapshot([work / "prog"], anchors, probe=work / "scratch").clock_past()
        assert outside.read_text() == "not ours\n"
        assert not (work / "scratch" / PROBE).exists()
    finally:
        anchors.close()


def test_the_slate_waits_for_the_clock_before_each_test_that_follows_a_recording(work: Path) -> None:
    """A batch's snapshot is taken when its program is built; the clock is read before the first
    test (late: on a coarse clock the tick has usually passed by then), and again before the
    test after every restore, never otherwise."""
    slate = Slate({"work": str(work), "prog": str(work / "prog"), "wipe": []})  # type: ignore[typeddict-item]
    try:
        slate.remember()
        assert slate.snapshot is not None
        assert slate.snapshot.unstamped
        os.close(slate.scratch_dir())
        assert not slate.snapshot.unstamped
        os.close(slate.scratch_dir())  # nothing changed: nothing recorded, nothing to wait for
        assert not slate.snapshot.unstamped
        _rewrite_in_place(work / "prog" / "main.py")
        os.close(slate.scratch_dir())  # restored, then the clock read before the next test
        assert not slate.snapshot.unstamped
        assert (work / "prog" / "main.py").read_text() == "print('the real program')\n"
        assert os.listdir(work / "scratch") == []
    finally:
        slate.close()

"""The per-test guards on a real directory tree: anchors, the wipe, fresh dirs, snapshots."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.runtime.guard import Anchors, Keep, Snapshot, fresh_dir, wipe_except, write_at
from sandbox.runtime.verdicts import OomCounter

_NAME = st.text(alphabet="abcxyz", min_size=1, max_size=4)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A work tree shaped like a batch's: a top holding work/prog and work/scratch."""
    (tmp_path / "top" / "work" / "prog").mkdir(parents=True)
    (tmp_path / "top" / "work" / "scratch").mkdir()
    (tmp_path / "top" / "work" / "prog" / "main.py").write_text("print(1)\n")
    return tmp_path / "top"


def test_paths_are_anchored_on_the_outermost_top(tree: Path) -> None:
    work = str(tree / "work")
    anchors = Anchors([work, str(tree)])
    try:
        assert list(anchors.fds) == [str(tree)]
        fd, rel = anchors.at(f"{work}/prog/main.py")
        assert (fd, rel) == (anchors.fds[str(tree)], "work/prog/main.py")
        assert anchors.at(str(tree)) == (anchors.fds[str(tree)], ".")
        # A sibling whose name merely starts like the top is not under it.
        assert anchors.at(f"{tree}x/file") == (None, f"{tree}x/file")
    finally:
        anchors.close()
    assert anchors.fds == {}


@given(st.lists(_NAME, max_size=6), st.lists(_NAME, max_size=4))
def test_wipe_removes_everything_but_the_kept_paths(planted: list[str], planted_deep: list[str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        top = Path(tmp)
        kept = top / "work" / "prog"
        kept.mkdir(parents=True)
        (kept / "main.py").write_text("x")
        for name in planted:
            (top / f"p{name}").mkdir(exist_ok=True)
            (top / f"p{name}" / "f").write_text("planted")
        for name in planted_deep:
            (top / "work" / f"q{name}").write_text("planted")
        anchors = Anchors([str(top)])
        try:
            wipe_except([str(top)], Keep({kept}), anchors)
        finally:
            anchors.close()
        assert sorted(p.relative_to(top).as_posix() for p in top.rglob("*")) == [
            "work",
            "work/prog",
            "work/prog/main.py",
        ]


def test_fresh_dir_replaces_a_planted_link_and_empties_a_locked_dir(tree: Path, tmp_path: Path) -> None:
    scratch = tree / "work" / "scratch"
    (scratch / "deep" / "er").mkdir(parents=True)
    (scratch / "deep" / "er" / "f").write_text("x")
    (scratch / "deep").chmod(0o500)
    scratch.chmod(0o000)
    anchors = Anchors([str(tree)])
    try:
        fresh_dir(scratch, anchors)
        assert scratch.is_dir()
        assert list(scratch.iterdir()) == []
        scratch.rmdir()
        outside = tmp_path / "outside"
        outside.mkdir()
        (outside / "keep-me").write_text("x")
        scratch.symlink_to(outside)
        fresh_dir(scratch, anchors)
        assert scratch.is_dir()
        assert not scratch.is_symlink()
        assert (outside / "keep-me").exists()  # the link went, never what it pointed to
    finally:
        anchors.close()


def test_snapshot_sees_a_touched_file_and_restores_it(tree: Path) -> None:
    anchors = Anchors([str(tree)])
    try:
        prog = tree / "work" / "prog"
        snap = Snapshot([prog], anchors)
        assert snap.intact()
        assert not snap.restore()
        (prog / "main.py").write_text("print(2)\n")
        (prog / "extra.py").write_text("planted\n")
        assert not snap.intact()
        assert snap.restore()
        assert sorted(os.listdir(prog)) == ["main.py"]
        assert (prog / "main.py").read_text() == "print(1)\n"
        assert snap.intact()
    finally:
        anchors.close()


def test_snapshot_takes_bytes_it_was_given_and_reads_the_rest(tree: Path) -> None:
    anchors = Anchors([str(tree)])
    try:
        prog = tree / "work" / "prog"
        (prog / "main.bin").write_bytes(b"\x7fELF-on-disk")
        given = {prog / "main.bin": b"\x7fELF-in-mem!", prog / "main.py": b"too long to be it"}
        snap = Snapshot([prog], anchors, given)
        # The compiled file's bytes came from memory (same size); main.py's size differs: read.
        assert snap.files[prog / "main.bin"][0] == b"\x7fELF-in-mem!"
        assert snap.files[prog / "main.py"][0] == b"print(1)\n"
        (prog / "main.bin").write_bytes(b"tampered")
        assert snap.restore()
        assert (prog / "main.bin").read_bytes() == b"\x7fELF-in-mem!"
    finally:
        anchors.close()


def test_the_oom_counter_is_zero_where_there_is_no_cgroup_file(tmp_path: Path) -> None:
    counter = OomCounter((str(tmp_path / "missing"),))
    assert counter.fd is None
    assert counter.read() == 0
    counter.close()


def test_writing_a_file_of_ours_never_goes_through_a_link(tree: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tree / "work" / "chk").symlink_to(elsewhere)
    anchors = Anchors([str(tree)])
    try:
        with pytest.raises(OSError, match=r"link|loop|directory"):
            write_at(anchors, str(tree / "work" / "chk" / "main.bin"), b"x", 0o700)
        write_at(anchors, str(tree / "work" / "new" / "deep" / "f.txt"), b"data", 0o600)
    finally:
        anchors.close()
    assert list(elsewhere.iterdir()) == []
    assert (tree / "work" / "new" / "deep" / "f.txt").read_bytes() == b"data"


def test_a_moved_top_is_reported_and_not_followed(tmp_path: Path) -> None:
    top = tmp_path / "batch"
    (top / "prog").mkdir(parents=True)
    anchors = Anchors([str(top)])
    try:
        assert anchors.moved() == []
        top.rename(tmp_path / "batch.moved")
        top.symlink_to(tmp_path / "batch.moved")
        assert anchors.moved() == [str(top)]
    finally:
        anchors.close()


def test_the_oom_counter_reads_the_file_again_each_time(tmp_path: Path) -> None:
    events = tmp_path / "memory.events"
    events.write_text("low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\n")
    counter = OomCounter((str(tmp_path / "missing"), str(events)))
    try:
        assert counter.read() == 2
        events.write_text("low 0\nhigh 0\nmax 9\noom 7\noom_kill 17\n")  # same inode, rewritten
        assert counter.read() == 17
    finally:
        counter.close()

"""Who is to blame in an interactive test: the interactor's status, the program's verdict, and
what the program did to the interactor's place (pure logic, and the helpers it reads from)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.runtime.testio import disk_filled, interactive_verdict, process_state, read_feedback

PROGRAM_VERDICTS = ["AC", "WA", "RE", "TLE", "MLE", "OLE"]


def decide(program: str, status: int | None, said: str = "", spoiled: str = "") -> tuple[str, str]:
    outcome: Any = {"verdict": program, "message": "the program's own"}
    interactive_verdict(outcome, status, said, spoiled)
    return outcome["verdict"], outcome["message"]


@pytest.mark.parametrize(
    ("program", "status", "spoiled", "expected"),
    [
        ("AC", 42, "", "AC"),
        ("AC", 43, "", "WA"),
        ("TLE", 43, "", "TLE"),  # out of time first
        ("RE", 42, "", "RE"),
        ("AC", 1, "", "SE"),  # the interactor failed by itself
        ("AC", -signal.SIGSEGV, "", "SE"),
        ("AC", None, "", "SE"),  # hung
        ("AC", -signal.SIGUSR1, "", "RE"),  # killed by the program
        ("AC", -signal.SIGHUP, "", "RE"),
        ("AC", -signal.SIGKILL, "", "RE"),
        ("AC", -signal.SIGPIPE, "", "SE"),  # its own write to a program that left: its to ignore
        ("AC", -signal.SIGALRM, "", "SE"),  # its own timer
        ("RE", -signal.SIGKILL, "", "RE"),  # killed it, then died writing to it: its own failure
        ("TLE", -signal.SIGTERM, "", "TLE"),
        ("AC", 1, "the program filled the disk the interactor writes its verdict on", "RE"),
        ("AC", None, "the program stopped the interactor", "RE"),
        ("MLE", 1, "the program changed the interactor's feedback directory", "MLE"),
        ("AC", 42, "the program filled the disk the interactor writes its verdict on", "AC"),  # it coped
    ],
)
def test_the_decision_table(program: str, status: int | None, spoiled: str, expected: str) -> None:
    verdict, message = decide(program, status, "said", spoiled)
    assert verdict == expected, message
    if spoiled and verdict == "RE" and program == "AC":
        assert message == spoiled


# Written out here, not taken from the module: what a process may get from its own doing.
OWN_DOING = {"SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGABRT", "SIGSYS", "SIGTRAP", "SIGXCPU", "SIGXFSZ"}
OWN_DOING |= {"SIGALRM", "SIGVTALRM", "SIGPROF", "SIGPIPE"}
FROM_OUTSIDE = {"SIGKILL", "SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGCONT", "SIGWINCH"}


@given(program=st.sampled_from(PROGRAM_VERDICTS), name=st.sampled_from(sorted(OWN_DOING | FROM_OUTSIDE)))
def test_an_interactor_killed_from_outside_is_the_programs_doing(program: str, name: str) -> None:
    verdict, message = decide(program, -signal.Signals[name])
    if name in OWN_DOING:
        assert verdict == "SE"
    elif program == "AC":
        number = signal.Signals[name].value
        assert (verdict, message) == ("RE", f"the interactor was killed by signal {number} (by the program)")
    else:
        assert verdict == program  # the program's own failure stands


@given(program=st.sampled_from(PROGRAM_VERDICTS), name=st.sampled_from(sorted(OWN_DOING)), code=st.integers(0, 255))
def test_a_spoiled_place_puts_any_failure_of_the_interactor_on_the_program(program: str, name: str, code: int) -> None:
    for status in (-signal.Signals[name], code, None):
        if status in (42, 43):
            continue
        verdict, _ = decide(program, status, "", "the program filled the disk")
        assert verdict == ("RE" if program == "AC" else program)


@given(program=st.sampled_from(PROGRAM_VERDICTS), status=st.sampled_from([42, 43]), spoiled=st.text(max_size=5))
def test_an_answer_of_the_interactor_is_never_overruled_by_spoiling(program: str, status: int, spoiled: str) -> None:
    assert decide(program, status, "", spoiled) == decide(program, status, "", "")


def test_feedback_is_read_from_a_regular_file_only(tmp_path: Path) -> None:
    assert read_feedback(tmp_path) == ""
    (tmp_path / "judgemessage.txt").write_text("found 737 in 3 guesses\n" + "x" * 10_000)
    assert read_feedback(tmp_path).startswith("found 737")
    assert len(read_feedback(tmp_path)) == 4096
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "judgemessage.txt").symlink_to(tmp_path / "judgemessage.txt")
    assert read_feedback(linked) == ""  # never through a link
    fifo = tmp_path / "fifo"
    fifo.mkdir()
    os.mkfifo(fifo / "judgemessage.txt")
    assert read_feedback(fifo) == ""  # and never waiting on a pipe nobody writes


def test_a_stopped_process_is_seen_stopped() -> None:
    with subprocess.Popen(["sleep", "30"]) as proc:
        try:
            os.kill(proc.pid, signal.SIGSTOP)
            deadline = time.monotonic() + 10
            while process_state(proc.pid) not in ("T", "t") and time.monotonic() < deadline:
                time.sleep(0.005)
            assert process_state(proc.pid) in ("T", "t")
            os.kill(proc.pid, signal.SIGCONT)
            while process_state(proc.pid) in ("T", "t") and time.monotonic() < deadline:
                time.sleep(0.005)
            assert process_state(proc.pid) in ("S", "R", "D")
        finally:
            proc.kill()
    assert process_state(proc.pid) == ""  # reaped: no such process


def statvfs(blocks: int, free_bytes: int, files: int, free_files: int) -> os.statvfs_result:
    free = free_bytes // 4096
    return os.statvfs_result((4096, 4096, blocks, free, free, files, free_files, free_files, 0, 255))


def test_a_disk_is_filled_when_under_a_mebibyte_or_64_inodes_are_left() -> None:
    assert disk_filled(statvfs(1000, 10 << 20, 1000, 500)) == ""
    assert "filled the disk" in disk_filled(statvfs(1000, 512 << 10, 1000, 500))
    assert "inodes" in disk_filled(statvfs(1000, 10 << 20, 1000, 10))
    assert disk_filled(statvfs(0, 0, 0, 0)) == ""  # a tmpfs without limits reports no size: never full

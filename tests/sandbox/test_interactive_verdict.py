"""Who is to blame in an interactive test: the interactor's status, the program's verdict, and
what the program did to the interactor's place (pure logic, and the helpers it reads from)."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.runtime.testio import SELF_INFLICTED, interactive_verdict, process_state, read_feedback

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
        ("AC", -signal.SIGPIPE, "", "WA"),  # the program left while it wrote
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


signals = st.sampled_from(sorted(set(signal.Signals) - {signal.SIGKILL} | {signal.SIGKILL}))


@given(program=st.sampled_from(PROGRAM_VERDICTS), sig=signals, spoiled=st.sampled_from(["", "spoiled"]))
def test_an_interactor_is_a_judge_fault_only_when_nothing_points_at_the_program(
    program: str, sig: signal.Signals, spoiled: str
) -> None:
    verdict, _ = decide(program, -sig, "", spoiled)
    by_the_program = sig not in SELF_INFLICTED or bool(spoiled)
    assert (verdict == "SE") is (not by_the_program)
    if by_the_program and program != "AC":
        assert verdict == program  # the program's own failure stands


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
            assert process_state(proc.pid) in ("S", "R")
            os.kill(proc.pid, signal.SIGSTOP)
            for _ in range(200):
                if process_state(proc.pid) in ("T", "t"):
                    break
                os.sched_yield()
            assert process_state(proc.pid) in ("T", "t")
        finally:
            proc.kill()
    assert process_state(proc.pid) == ""  # reaped: no such process

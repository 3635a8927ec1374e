"""The hostile-input corpus: every case gives a result or a one-line error within 2 CPU s and 512 MB.

Each case runs ``codesolve validate`` (and a few ``codesolve judge``) in a
child process under RLIMIT_AS and RLIMIT_CPU (:mod:`tests.tasks.bounded`):
a MemoryError, a traceback, a kill by SIGXCPU or a hang fails the case.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tasks.bounded import run_bounded
from tests.tasks.hostile_corpus import CANARY, CASES, Case


def _check(case: Case, code: int, stdout: str, stderr: str) -> None:
    assert "Traceback" not in stderr, stderr[-2000:]
    assert CANARY not in stdout + stderr
    if case.expect == "error":
        assert code == 2, (code, stdout[-500:], stderr[-2000:])
        lines = stderr.strip().splitlines()
        assert len(lines) == 1, stderr[-2000:]
        assert lines[0].startswith("codesolve: error: "), lines[0]
        assert len(lines[0]) < 1000, lines[0][:2000]
        assert case.needle in lines[0], lines[0]
    elif case.expect == "ok":
        assert code == 0, (code, stderr[-2000:])
        assert stderr == ""
    else:  # either a result or a one-line error
        assert code in (0, 2), (code, stderr[-2000:])
        assert len(stderr.strip().splitlines()) == (code == 2), stderr[-2000:]


@pytest.mark.parametrize("name", list(CASES))
def test_validate_is_bounded(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    path = case.build(tmp_path)
    run = run_bounded(["validate", str(path)])
    _check(case, run.code, run.stdout, run.stderr)
    assert run.cpu is not None, run
    assert run.cpu < 2.0, run
    assert run.peak_mb is not None, run
    assert run.peak_mb < 512, run


JUDGED = [name for name, case in CASES.items() if case.expect == "error"][::4]


@pytest.mark.parametrize("name", JUDGED)
def test_judge_refuses_before_running_anything(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    path = case.build(tmp_path)
    program = tmp_path / "prog.py"
    program.write_text("print(input())\n")
    run = run_bounded(["judge", str(path), "--program", str(program), "--sandbox", "local", "--allow-weaker"])
    _check(case, run.code, run.stdout, run.stderr)


def test_the_corpus_covers_every_class() -> None:
    names = " ".join(CASES)
    for word in ("yaml alias", "gzip", "pickle", "colliding", "statement", "arrow", "linked", "FIFO", "repo_source"):
        assert word in names
    assert len(CASES) >= 50

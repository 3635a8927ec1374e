"""Running a problem's own checker program. Standard library only.

Two protocols:

* ``testlib``: ``checker INPUT OUTPUT ANSWER``; exit 0 accepts, 1 or 2 rejects.
* ``kattis``: ``validator INPUT ANSWER FEEDBACK_DIR < OUTPUT``; exit 42 accepts, 43 rejects.

Any other exit status is a fault of the checker, reported as such (never as WA).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox.runtime.wire import ProgramWire, TestWire

_CHECKER_WALL_S = 30.0


class CheckerFault(Exception):
    """The checker program itself failed (crash, time-out, unknown exit status)."""


EXECUTE_ONLY = 0o111
"""The mode of a compiled checker (see :func:`prepare`)."""


def prepare(program: ProgramWire, env: dict[str, str]) -> list[str]:
    """Compile the checker (if its language needs it) and return the command that runs it.

    Called before any candidate runs, so a candidate cannot interfere with the build.
    """
    lang = program["language"]
    base = Path(program["dir"])
    command = lang["compile"]
    if command:
        try:
            proc = subprocess.run(
                command,
                cwd=base,
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=120,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CheckerFault(f"checker does not compile: {exc}") from exc
        if proc.returncode != 0:
            raise CheckerFault(f"checker does not compile: {proc.stderr.decode(errors='replace')[:300]}")
    entry = program["entry"]
    argv = [str(base / a[2:]) if a.startswith("./") else str(base / a) if a == entry else a for a in lang["run"]]
    if argv and Path(argv[0]).parent == base:
        # A binary of the checker's own (compiled): execute-only. A process exec'd from a file
        # it may not read is not dumpable (for a driver without CAP_DAC_*: see
        # testio.is_undumpable, which checks), so the program beside an interactor (same uid)
        # can neither read its /proc files (the test's input and answer) nor write its memory.
        try:
            os.chmod(argv[0], EXECUTE_ONLY)
        except OSError as exc:
            raise CheckerFault(f"checker could not be made execute-only: {exc}") from exc
    return argv


def run(
    argv: list[str], protocol: str, workdir: str, test: TestWire, actual: str, env: dict[str, str]
) -> tuple[bool, str]:
    """Judge one output with the checker program; raise CheckerFault when the checker breaks.

    Its three inputs are memory files (named to it as ``/proc/self/fd/N``): nothing a test
    wrote, or left full, stands between them and the checker. Only Kattis's feedback
    directory is on disk, made once the test's places are emptied.
    """
    texts = {"input": test["stdin"] or "", "answer": test["expected"] or "", "output": actual}
    fds: dict[str, int] = {}
    try:
        for name, text in texts.items():
            fds[name] = _memfd(name, text.encode("utf-8", "surrogateescape"))
        tmp = Path(tempfile.mkdtemp(dir=workdir))
    except OSError as exc:
        _close(fds)
        raise CheckerFault(f"the checker's inputs could not be made: {exc}") from exc
    path = {name: f"/proc/self/fd/{fd}" for name, fd in fds.items()}
    try:
        if protocol == "kattis":
            cmd = [*argv, path["input"], path["answer"], str(tmp)]
            accept, reject = {42}, {43}
        else:
            cmd = [*argv, path["input"], path["output"], path["answer"]]
            accept, reject = {0}, {1, 2}
        proc = subprocess.run(
            cmd, stdin=fds["output"], pass_fds=tuple(fds.values()), cwd=tmp, env=env,
            capture_output=True, timeout=_CHECKER_WALL_S, check=False,
        )  # fmt: skip
        message = (proc.stderr or proc.stdout).decode("utf-8", "replace").strip()[:500]
        if proc.returncode in accept:
            return True, message or "ok"
        if proc.returncode in reject:
            return False, message or "rejected by the checker"
        raise CheckerFault(f"checker exited {proc.returncode}: {message[:200]}")
    except subprocess.TimeoutExpired as exc:
        raise CheckerFault(f"checker ran past {_CHECKER_WALL_S:.0f}s") from exc
    except OSError as exc:
        raise CheckerFault(f"checker could not run: {exc}") from exc
    finally:
        _close(fds)
        shutil.rmtree(tmp, ignore_errors=True)


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(name)  # close-on-exec: only the checker gets it (pass_fds)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _close(fds: dict[str, int]) -> None:
    for fd in fds.values():
        os.close(fd)

"""Running a problem's own checker program. Standard library only.

Two protocols:

* ``testlib``: ``checker INPUT OUTPUT ANSWER``; exit 0 accepts, 1 or 2 rejects.
* ``kattis``: ``validator INPUT ANSWER FEEDBACK_DIR < OUTPUT``; exit 42 accepts, 43 rejects.

Any other exit status is a fault of the checker, reported as such (never as WA).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

_CHECKER_WALL_S = 30.0


class CheckerFault(Exception):
    """The checker program itself failed (crash, time-out, unknown exit status)."""


def prepare(program: dict[str, Any], env: dict[str, str]) -> list[str]:
    """Compile the checker (if its language needs it) and return the command that runs it.

    Called before any candidate runs, so a candidate cannot interfere with the build.
    """
    lang = program["language"]
    base = Path(program["dir"])
    if lang.get("compile"):
        try:
            proc = subprocess.run(
                lang["compile"],
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
    return [str(base / a[2:]) if a.startswith("./") else str(base / a) if a == entry else a for a in lang["run"]]


def run(
    argv: list[str], protocol: str, workdir: str, test: dict[str, Any], actual: str, env: dict[str, str]
) -> tuple[bool, str]:
    """Judge one output with the checker program; raise CheckerFault when the checker breaks."""
    tmp = Path(tempfile.mkdtemp(dir=workdir))
    try:
        files = {"input": test["stdin"] or "", "answer": test["expected"] or "", "output": actual}
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8", errors="surrogateescape")
        (tmp / "feedback").mkdir()
        if protocol == "kattis":
            cmd = [*argv, str(tmp / "input"), str(tmp / "answer"), str(tmp / "feedback")]
            accept, reject = {42}, {43}
        else:
            cmd = [*argv, str(tmp / "input"), str(tmp / "output"), str(tmp / "answer")]
            accept, reject = {0}, {1, 2}
        with (tmp / "output").open("rb") as stdin:
            proc = subprocess.run(
                cmd, stdin=stdin, cwd=tmp, env=env, capture_output=True, timeout=_CHECKER_WALL_S, check=False
            )
        message = (proc.stderr or proc.stdout).decode("utf-8", "replace").strip()[:500]
        if proc.returncode in accept:
            return True, message or "ok"
        if proc.returncode in reject:
            return False, message or "rejected by the checker"
        raise CheckerFault(f"checker exited {proc.returncode}: {message[:200]}")
    except subprocess.TimeoutExpired as exc:
        raise CheckerFault(f"checker ran past {_CHECKER_WALL_S:.0f}s") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

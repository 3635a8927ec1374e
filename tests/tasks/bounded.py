"""Running codesolve in a child process under the hostile-input rule's rlimits, and measuring it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

MEMORY_LIMIT = 512 << 20
"""Address space of the child (RLIMIT_AS): the rule's 512 MB."""
CPU_SECONDS = 2
"""CPU seconds the command may use once codesolve is imported (RLIMIT_CPU)."""
WALL_SECONDS = 60.0
"""Outer deadline: a command that blocks (on a FIFO, a lock) is killed and fails."""

_DRIVER = """
import json, resource, sys, time
limit = int(sys.argv[2])
if limit:
    resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
from codesolve import cli
cli.build_parser()  # the subcommands' imports are the tool's start-up, not the input's cost
cpu = int(sys.argv[3])
if cpu:
    used = resource.getrusage(resource.RUSAGE_SELF)
    start_cpu = used.ru_utime + used.ru_stime
    resource.setrlimit(resource.RLIMIT_CPU, (int(start_cpu) + 1 + cpu, resource.RLIM_INFINITY))
usage = resource.getrusage(resource.RUSAGE_SELF)
cpu0, wall0 = usage.ru_utime + usage.ru_stime, time.perf_counter()
code = cli.main(sys.argv[4:])
usage = resource.getrusage(resource.RUSAGE_SELF)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forking parent (pytest).
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
with open(sys.argv[1], "w") as out:
    json.dump({"cpu": usage.ru_utime + usage.ru_stime - cpu0, "wall": time.perf_counter() - wall0,
               "peak_kb": peak}, out)
sys.exit(code)
"""


@dataclass(frozen=True)
class Run:
    """What one bounded command did."""

    code: int
    stdout: str
    stderr: str
    cpu: float | None
    """CPU seconds of the command itself (None when it did not finish)."""
    wall: float | None
    peak_mb: float | None
    """Peak resident memory of the child, in MiB."""


def run_bounded(
    args: list[str],
    *,
    memory: int = MEMORY_LIMIT,
    cpu: int = CPU_SECONDS,
    wall: float = WALL_SECONDS,
    env: dict[str, str] | None = None,
    pythonpath: str | None = None,
) -> Run:
    """``codesolve ARGS`` in a child under RLIMIT_AS=``memory`` and RLIMIT_CPU=``cpu`` (0: unlimited)."""
    child_env = dict(os.environ if env is None else env)
    if pythonpath is not None:
        child_env["PYTHONPATH"] = pythonpath
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        command = [sys.executable, "-c", _DRIVER, str(report), str(memory), str(cpu), *args]
        try:
            # `python -c` puts the working directory first on sys.path: run from the tree under test.
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=wall, env=child_env, check=False, cwd=pythonpath
            )
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else ""
            return Run(-1, out, f"timed out after {wall}s", None, None, None)
        figures = json.loads(report.read_text()) if report.exists() else {}
    peak = figures.get("peak_kb")
    return Run(
        done.returncode,
        done.stdout,
        done.stderr,
        figures.get("cpu"),
        figures.get("wall"),
        None if peak is None else peak / 1024,
    )

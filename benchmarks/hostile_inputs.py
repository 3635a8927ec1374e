"""The hostile-input corpus, before and after: CPU time, peak memory and outcome of ``codesolve validate``.

Every case of ``tests/tasks/hostile_corpus.py`` is run in a child process
twice: with the code at ``--before`` (a git ref, extracted to a temporary
directory) and with this working tree. The "before" side gets generous
limits (``--cpu`` seconds, ``--memory-mb``) so that a run which would take
minutes or gigabytes is stopped and shown as such; the "after" side runs
under the rule's own limits (2 CPU s, 512 MB), as the tests do.

    .venv/bin/python benchmarks/hostile_inputs.py [--before b42a2d8] [--cpu 20] [--memory-mb 3072] [--only TEXT]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.tasks.bounded import Run, run_bounded  # noqa: E402
from tests.tasks.hostile_corpus import CASES  # noqa: E402


def outcome(run: Run) -> str:
    """A short word for how the run ended."""
    if run.code == -1:
        return "hung"
    if run.code == -24:  # SIGXCPU
        return "CPU cap"
    if "MemoryError" in run.stderr or "memory allocation" in run.stderr:
        return "out of memory"
    if "Traceback" in run.stderr or run.code < 0:
        return f"crash {run.code}"
    return {0: "ok", 2: "error"}.get(run.code, f"exit {run.code}")


def cell(run: Run) -> str:
    """``outcome cpu peak`` for one side."""
    cpu = "—" if run.cpu is None else f"{run.cpu:6.2f}s"
    peak = "—" if run.peak_mb is None else f"{run.peak_mb:5.0f}MB"
    return f"{outcome(run):>13} {cpu:>8} {peak:>7}"


def main() -> None:
    """Run the corpus on both sides and print one row per case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="b42a2d8", help="git ref of the code to compare with")
    parser.add_argument("--cpu", type=int, default=20, help="CPU seconds allowed on the before side")
    parser.add_argument("--memory-mb", type=int, default=3072, help="address space allowed on the before side")
    parser.add_argument("--only", default="", help="run only cases whose name contains this")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        before = Path(scratch) / "before"
        before.mkdir()
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", args.before, "codesolve", "sandbox"], capture_output=True, check=True
        )
        subprocess.run(["tar", "-x", "-C", str(before)], input=archive.stdout, check=True)
        print(f"{'case':<48} {'before (' + args.before + ')':>30} {'after (this tree)':>30}")
        for name, case in CASES.items():
            if args.only not in name:
                continue
            work = Path(scratch) / "case"
            work.mkdir()
            path = case.build(work)
            old = run_bounded(
                ["validate", str(path)], memory=args.memory_mb << 20, cpu=args.cpu, wall=args.cpu * 3 + 30,
                pythonpath=str(before),
            )  # fmt: skip
            new = run_bounded(["validate", str(path)], pythonpath=str(ROOT))
            print(f"{name[:48]:<48} {cell(old):>30} {cell(new):>30}", flush=True)
            subprocess.run(["rm", "-rf", str(work)], check=True)


if __name__ == "__main__":
    main()

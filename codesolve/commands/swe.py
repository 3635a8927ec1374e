"""``codesolve swe INSTANCES --repos DIR``: SWE-bench instances solved and graded, offline.

``--gold`` grades the dataset's own patches (the harness check the official
harness calls validation: every verified instance must resolve); ``--empty``
grades empty patches (none may resolve). With ``--model`` the engine makes the
patches. The run folder gets ``predictions.jsonl`` (the SWE-bench harness
format), ``results.jsonl`` and ``report.json``; a rerun resumes.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from codesolve.commands.common import add_engine_flags, add_model_flags, progress_printer
from codesolve.commands.interrupt import Interrupted, Interrupts
from codesolve.commands.solve import engine_config, llm_config
from codesolve.errors import UsageError
from codesolve.runs.progress import printable
from codesolve.runs.single import open_llm
from codesolve.runs.swe import Prepared, SweSettings, run_batch
from codesolve.runs.swe_report import RUN_FILE, load_instances, report_lines
from codesolve.runs.swe_solve import SolveSettings, make_patch
from sandbox import Sandbox


def register(subparsers: Any) -> None:
    """Add ``swe``."""
    p = subparsers.add_parser("swe", help="solve and grade SWE-bench style instances offline")
    p.add_argument("instances", type=Path, help="SWE-bench instances (JSON or JSONL)")
    p.add_argument("--repos", type=Path, required=True, help="folder of local mirrors (owner__name.git[.tar.xz])")
    p.add_argument("--id", action="extend", nargs="+", default=[], help="only these instance ids")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--gold", action="store_true", help="grade the dataset's gold patches")
    what.add_argument("--empty", action="store_true", help="grade empty patches (none may resolve)")
    p.add_argument("--public-tests", action="store_true", help="show FAIL_TO_PASS to the solver (hidden by default)")
    p.add_argument("--no-grade", action="store_true", help="write predictions only (grade later with codesolve eval)")
    add_model_flags(p)
    for action in p._actions:
        if action.dest == "model":
            action.required = False  # --gold / --empty need no model; checked in _swe()
    add_engine_flags(p)
    p.add_argument("--no-cache", action="store_true", help="do not replay cached model responses")
    p.add_argument("--specs", type=Path, help="folder of extra build specs (<owner>__<name>.yaml)")
    p.add_argument("--out", type=Path, default=Path("swe-run"), help="run folder (default swe-run)")
    p.set_defaults(func=run)


def _say(line: str) -> None:
    print(printable(line, 1000), file=sys.stderr, flush=True)


def write_run_file(args: argparse.Namespace, model_name: str) -> None:
    """What ``codesolve eval`` needs to grade the run again."""
    args.out.mkdir(parents=True, exist_ok=True)
    record = {
        "kind": "swe",
        "instances": str(args.instances.resolve()),
        "repos": str(args.repos.resolve()),
        "specs": str(args.specs.resolve()) if args.specs else None,
        "ids": list(args.id),
        "model_name_or_path": model_name,
    }
    (args.out / RUN_FILE).write_text(json.dumps(record, indent=1) + "\n")


async def _gold(prepared: Prepared, _box: Sandbox) -> str:
    return prepared.instance.patch


async def _empty(_prepared: Prepared, _box: Sandbox) -> str:
    return ""


async def _swe(args: argparse.Namespace, interrupts: Interrupts) -> int:
    if not args.repos.is_dir():
        raise UsageError(f"--repos {args.repos}: not a directory")
    instances = load_instances(args.instances, args.id)
    if args.model and (args.gold or args.empty):
        raise UsageError("--model cannot be combined with --gold or --empty")
    if not (args.model or args.gold or args.empty):
        raise UsageError("say what makes the patches: --model NAME, --gold or --empty")
    name = args.model or ("gold" if args.gold else "empty")
    write_run_file(args, name)
    settings = SweSettings(args.repos.resolve(), args.out.resolve(), name, args.specs)
    if args.model:
        solve = SolveSettings(engine_config(args), args.public_tests, args.out.resolve() / "traces")
        async with open_llm(llm_config(args, args.out / "cache.sqlite")) as llm:

            async def engine_patch(prepared: Prepared, box: Sandbox) -> str:
                return await make_patch(prepared, box, llm, solve, progress_printer(llm), interrupts.switch)

            report = await run_batch(
                instances, settings, engine_patch, _say, not args.no_grade, lambda: interrupts.pressed
            )
    else:
        report = await run_batch(instances, settings, _gold if args.gold else _empty, _say)
    if interrupts.pressed:
        raise Interrupted("interrupted")
    for line in report_lines(report, settings.out):
        print(line)
    return 0


def run(args: argparse.Namespace) -> int:
    """Entry point of ``codesolve swe``."""
    interrupts = Interrupts()
    return interrupts.run(lambda: _swe(args, interrupts))

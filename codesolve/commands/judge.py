"""``codesolve judge``: run a program against a problem's tests, or check the judge on a dataset's own solutions.

::

    codesolve judge PROBLEM --program FILE [--id ID] [--tests all] [--lang python|cpp] [--json]
    codesolve judge PROBLEM --solutions [--id ID] [--limit K] [--jobs N] [--json]

The first prints a verdict table and a summary line; exit 0 only when every
test passed. The second runs every solution the dataset carries and reports
where our verdicts disagree with its labels; exit 0 only when all agree.
Bad input (a missing file, an unknown id or language) is one line and exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codesolve.commands.common import add_language_flag, add_sandbox_flags, sandbox_config
from codesolve.commands.interrupt import Interrupts
from codesolve.errors import UsageError
from codesolve.runs.agreement import ProblemCheck, agreement, judge_solutions
from codesolve.runs.judging import Judgement, judge, language_name
from codesolve.runs.timelimit import describe_time_limit, settle_time_limit
from codesolve.tasks import FORMATS, CompetitiveProblem, load_problem, load_problems
from sandbox import open_sandbox

_BY_SUFFIX = {".cpp": "cpp", ".cc": "cpp", ".cxx": "cpp", ".c++": "cpp"}


def register(subparsers: Any) -> None:
    """Add ``judge``."""
    p = subparsers.add_parser(
        "judge",
        help="run a program against a problem's tests, or check the judge on a dataset's solutions",
        description="Judge the --program FILE on a problem's tests (exit 0 when all pass), or with --solutions run "
        "every solution the dataset carries and report agreement with its labels (exit 0 when all agree).",
    )
    p.add_argument("problem", type=Path, help="problem file or package (any supported format)")
    p.add_argument("--program", type=Path, metavar="FILE", help="the program file to judge (not with --solutions)")
    p.add_argument("--id", help="problem id within a multi-problem file")
    p.add_argument("--format", metavar="F", help=f"problem file format, one of: {', '.join(FORMATS)}")
    p.add_argument("--tests", choices=["public", "hidden", "all"], default="all", help="which tests (default all)")
    add_language_flag(p, "the program")
    p.add_argument("--json", action="store_true", help="print a machine-readable report instead of a table")
    p.add_argument("--solutions", action="store_true", help="judge the dataset's own labelled solutions")
    p.add_argument(
        "--limit", type=int, metavar="K", help="with --solutions: judge at most K solutions of each label per problem"
    )
    p.add_argument("--jobs", type=int, default=4, metavar="N", help="with --solutions: problems in flight (default 4)")
    add_sandbox_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Entry point of ``codesolve judge``."""
    if args.solutions:
        if args.program is not None:
            raise UsageError("judge takes either --program FILE or --solutions, not both")
        if args.lang is not None or args.tests != "all":
            raise UsageError("--lang and --tests apply to --program; --solutions runs each solution on all tests")
        if (args.limit is not None and args.limit < 1) or args.jobs < 1:
            raise UsageError("--limit and --jobs must be at least 1")
        return Interrupts().run(lambda: _solutions(args))
    if args.program is None:
        raise UsageError("judge needs --program FILE (or --solutions)")
    if args.limit is not None:
        raise UsageError("--limit applies to --solutions only")
    return Interrupts().run(lambda: _program(args))


def _read_program(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path}: no such program file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the program: {exc}") from None


async def _program(args: argparse.Namespace) -> int:
    language = language_name(args.lang or _BY_SUFFIX.get(args.program.suffix.lower(), "python"))
    code = _read_program(args.program)
    problem = load_problem(args.problem, args.id, args.format)
    if not isinstance(problem, CompetitiveProblem):
        raise UsageError(f"problem {problem.id} is a {problem.kind} task; judge takes competitive problems")
    async with open_sandbox(await sandbox_config(args)) as box:
        problem = await settle_time_limit(problem, box)
        result = await judge(problem, code, box, args.tests, language)
    if args.json:
        print(json.dumps({**result.to_json(), "time_limit": _time_limit_json(problem)}, indent=2))
    else:
        if describe_time_limit(problem):
            print(describe_time_limit(problem))
        print_judgement(result)
    return 0 if result.all_passed else 1


def print_judgement(result: Judgement) -> None:
    """The verdict table, what happened to missing expected outputs, and the summary line."""
    note = result.expected.describe()
    if note:
        print(note)
    for failure in result.expected.failures:
        print(f"  reference {failure.verdict.value} on {failure.name}: {failure.explanation}")
    rows = [("test", "verdict", "cpu", "memory", "message")]
    for r in result.rows:
        rows.append((r.name, r.verdict.value, f"{r.cpu_seconds:.2f}s", f"{r.memory_kb / 1024:.1f}MB", r.explanation))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4])
    print(result.summary())


async def _solutions(args: argparse.Namespace) -> int:
    if args.id is not None:
        found = [load_problem(args.problem, args.id, args.format)]
    else:
        found = load_problems(args.problem, args.format)
    problems = [p for p in found if isinstance(p, CompetitiveProblem)]
    if not problems:
        raise UsageError(f"{args.problem}: no competitive problems to judge")
    if not any(p.solutions for p in problems):
        raise UsageError(f"{args.problem}: the dataset carries no solutions to judge")
    started = time.monotonic()
    async with open_sandbox(await sandbox_config(args)) as box:
        problems = [await settle_time_limit(p, box) for p in problems]
        checks = await judge_solutions(problems, box, args.limit, args.jobs, _progress(len(problems)))
    if not args.json:
        for line in filter(None, map(describe_time_limit, problems)):
            print(line)
    seconds = time.monotonic() - started
    tally = agreement(checks)
    if args.json:
        report = {
            "file": str(args.problem),
            "problems": len(checks),
            "seconds": round(seconds, 2),
            "agreement": tally.to_json(),
            "issues": [c.issue() for c in checks if c.issue()],
            "solutions": [s.to_json() for c in checks for s in c.solutions],
        }
        print(json.dumps(report, indent=2))
    else:
        print_agreement(args.problem, checks, seconds)
    return 0 if tally.all_agree else 1


def print_agreement(path: Path, checks: list[ProblemCheck], seconds: float) -> None:
    """One line per solution that does not agree, per problem issue, then counts per label and a summary."""
    for check in checks:
        if check.issue():
            print(check.issue())
        for solution in check.solutions:
            if solution.status != "agree":
                print(solution.describe())
    computed = sum(1 for c in checks if c.expected.computed)
    if computed:
        print(
            f"expected outputs of io tests computed by running the reference for {computed} problems "
            "(the reference agrees with them by construction; check tests are independent)"
        )
    tally = agreement(checks)
    for line in tally.lines():
        print(f"  {line}")
    total = tally.total
    issues = total["dataset issue"] + tally.reference_failures
    counts = f"{total['disagree']} disagree, {_plural(issues, 'dataset issue')}, "
    counts += f"{_plural(total['infra error'], 'infra error')}, {total['not run']} not run"
    print(
        f"{path}: {total['agree']}/{tally.ran} solutions agree with their labels on "
        f"{_plural(len(checks), 'problem')} ({counts}) in {seconds:.1f}s"
    )


def _time_limit_json(problem: CompetitiveProblem) -> dict[str, Any]:
    return {"seconds": problem.time_limit_s, "origin": problem.time_limit_origin}


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _progress(count: int) -> Callable[[ProblemCheck], None]:
    done = 0

    def show(check: ProblemCheck) -> None:
        nonlocal done
        done += 1
        if sys.stderr.isatty():
            agree = sum(1 for s in check.solutions if s.status == "agree")
            line = f"[judge] {done}/{count} {check.problem_id}: {agree}/{len(check.solutions)} agree"
            print(line, file=sys.stderr, flush=True)

    return show

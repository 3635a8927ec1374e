"""``codesolve validate PATH... [--format F]``: check problem files without running anything.

Prints one line per path: how many problems and tests it holds (and what
loading dropped or flagged), or the one-line error. Exit 2 if any path failed.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from typing import Any

from codesolve.errors import ProblemFormatError
from codesolve.tasks import FORMATS, LoadResult, read_problems


def register(subparsers: Any) -> None:
    """Add the ``validate`` subcommand."""
    parser = subparsers.add_parser(
        "validate",
        help="check problem files (no programs are run)",
        description="Load each problem file or package and report what it holds; exit 2 on any error.",
    )
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help="problem file (.jsonl .json .yaml .csv, .gz too) or package"
    )
    parser.add_argument(
        "--format", default=None, metavar="F", help=f"skip detection and read as F, one of: {', '.join(FORMATS)}"
    )
    parser.set_defaults(func=run)


def summary(result: LoadResult) -> str:
    """One line describing what a file held."""
    problems = result.problems
    kinds = Counter(p.kind for p in problems)
    parts = [f"{result.path}: {result.format}: {len(problems)} problem{'s' if len(problems) != 1 else ''}"]
    if len(kinds) > 1 or "competitive" not in kinds:
        parts[0] += " (" + ", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) + ")"
    competitive = [p for p in problems if p.kind == "competitive"]
    if competitive:
        public = sum(len(p.public_tests) for p in competitive)
        hidden = sum(len(p.hidden_tests) for p in competitive)
        parts.append(f"{public} public + {hidden} hidden tests")
        notes = {
            "checker missing": sum(p.checker_missing for p in competitive),
            "need reference outputs": sum(p.needs_reference_outputs for p in competitive),
            "tests dropped": sum(p.dropped_tests for p in competitive),
            "examples unparsed": sum(p.unparsed_examples for p in competitive),
        }
        parts.extend(f"{n} {label}" for label, n in notes.items() if n)
    if result.duplicates_dropped:
        parts.append(f"{result.duplicates_dropped} identical duplicates dropped")
    return ", ".join(parts)


def run(args: argparse.Namespace) -> int:
    """Validate every path; 0 when all loaded, 2 when any failed."""
    failed = 0
    for path in args.paths:
        try:
            result = read_problems(path, args.format)
        except ProblemFormatError as exc:
            failed += 1
            print(f"codesolve: error: {exc}", file=sys.stderr)
            continue
        print(summary(result))
    return 2 if failed else 0

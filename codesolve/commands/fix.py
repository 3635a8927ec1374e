"""``codesolve fix [REPO] --test NODEID…``: a verified fix for a repository's failing tests.

``--check`` runs the tests and the localisation only (no model). Otherwise the
engine generates, debugs and selects new versions of the target function(s);
the tests it makes pass / keeps passing / breaks and the cost go to stderr, and
the diff to stdout only when it is a fix (every failing test passes, none
breaks; exit 0). A pick that is not a fix is written beside the trace, never
to stdout, and exits 1. ``--apply`` writes a fix into the working tree.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from codesolve.commands.common import add_engine_flags, add_model_flags, progress_printer
from codesolve.commands.interrupt import Interrupted, Interrupts
from codesolve.commands.solve import check_keys, engine_config, llm_config
from codesolve.errors import LLMError, UsageError
from codesolve.runs.fix import (
    Examined,
    FixRequest,
    FixResult,
    apply_fix,
    environment,
    examine,
    fix_repo,
    save_diff,
    save_trace,
    targets_line,
)
from codesolve.runs.output import OutputError
from codesolve.runs.single import open_llm
from codesolve.sstar import EngineConfig
from codesolve.tasks.repo import WorkspaceError, resolve_target
from sandbox import DockerConfig, ImageMissing, open_sandbox

SHOWN_SUSPECTS = 8


def register(subparsers: Any) -> None:
    """Add ``fix``."""
    p = subparsers.add_parser(
        "fix",
        help="fix the function(s) that make a repository's tests fail",
        description="Find the function(s) the failing tests implicate (or take --function), generate and debug "
        "new versions in a network-less sandbox copy, keep those that make the tests pass and break none, "
        "select among them, and print the fix as a unified diff. The repository is only read until --apply.",
        epilog="exit status: 0 a verified fix (or --check done); 1 no candidate passes every test; "
        "2 bad input or an infrastructure error (one line on stderr)",
    )
    p.add_argument("repo", type=Path, nargs="?", default=Path("."), help="the repository (default: .)")
    p.add_argument(
        "--test",
        action="extend",
        nargs="+",
        required=True,
        metavar="NODEID",
        help="tests to make pass (node ids, files or folders); the rest of their files must keep passing",
    )
    p.add_argument(
        "--keep-passing",
        action="extend",
        nargs="+",
        default=[],
        metavar="SELECTOR",
        help="more tests whose passing ones must keep passing (default: the rest of the --test files; "
        "'.' for the whole suite)",
    )
    p.add_argument(
        "--function",
        action="extend",
        nargs="+",
        default=[],
        metavar="MODULE:QUALNAME",
        help="functions to fix (no localisation)",
    )
    p.add_argument("--check", action="store_true", help="run the tests and localise only (no model)")
    p.add_argument("--apply", action="store_true", help="write the fix into the working tree")
    p.add_argument("--image", help="a ready image with the repository's dependencies")
    p.add_argument("--description", default="", help="what is wrong, in words")
    p.add_argument("--test-timeout", type=float, default=20.0, help="seconds per test (default 20)")
    add_model_flags(p)
    for action in p._actions:
        if action.dest == "model":
            action.required = False  # --check needs no model; checked in _checked()
            action.help = "model name for every role unless overridden (not needed with --check)"
    add_engine_flags(p)
    p.add_argument("--out", type=Path, default=Path("out"), help="directory for the trace and the response cache")
    p.add_argument("--no-cache", action="store_true", help="do not replay cached responses")
    p.set_defaults(func=run)


def check_lines(examined: Examined) -> list[str]:
    """What ``--check`` shows: failing tests, the ranking, the targets."""
    setup = examined.setup
    lines = [f"failing: {len(setup.must_pass)} test(s); passing: {len(setup.regression)}"]
    lines += [f"  FAIL {t}" for t in setup.must_pass[:20]]
    located = examined.localisation
    if located is not None:
        lines.append(
            "suspects (Ochiai over per-test function spectra, ties broken by its best line's; "
            "tb = failing tracebacks through it):"
        )
        for s in located.ranking[:SHOWN_SUSPECTS]:
            line = f" line {s.line}: {s.line_ochiai:.3f} ep={s.line_ep}" if s.line else ""
            lines.append(f"  {s.ochiai:.3f}  ef={s.ef} ep={s.ep} tb={s.in_traceback} depth={s.depth}{line}  {s.target}")
    lines.append(f"would fix: {targets_line(setup.targets)}")
    return lines + choice_lines(examined)


def choice_lines(examined: Examined) -> list[str]:
    """Why each target was chosen (``--function`` named them, or the localisation's reasons)."""
    located = examined.localisation
    if located is None:
        return ["  named with --function (no localisation)"]
    return [f"  why {line}" for line in located.why]


def result_lines(result: FixResult) -> list[str]:
    """The tests the fix makes pass, keeps passing and breaks, and the cost."""
    s = result.solution
    failing, passing = result.examined.setup.must_pass, result.examined.setup.regression
    cost = "unknown" if s.cost_usd is None else f"${s.cost_usd:.4f}"
    lines = [
        f"made to pass: {len(result.made_pass)}/{len(failing)}",
        *[f"  FIXED {t}" for t in result.made_pass[:20]],
        *[f"  STILL FAILING {t}" for t in result.still_failing[:20]],
        f"kept passing: {len(result.kept_passing)}/{len(passing)}; broken: {len(result.broken)}",
        *[f"  BROKEN {t}" for t in result.broken[:20]],
        f"selected by {s.selector}: {s.why}",
        f"candidates {s.candidates}, survivors {s.survivors}, clusters {s.clusters}, judge calls {s.judge_calls}",
        f"tokens {s.tokens}, cost {cost}, wall {s.wall_s:.1f}s",
    ]
    if s.stopped_by:
        lines.append(f"stopped early: {s.stopped_by}")
    return lines


def _checked(args: argparse.Namespace) -> tuple[Path, EngineConfig | None]:
    """The repository and the engine config, with every flag checked before anything runs."""
    repo = args.repo.resolve()
    if not repo.is_dir():
        raise UsageError(f"{args.repo}: not a directory")
    if args.lang != "python":
        raise UsageError("fix: candidates are new versions of Python functions (--lang python only)")
    for name in args.function:
        try:
            resolve_target(repo, name)
        except WorkspaceError as exc:
            raise UsageError(str(exc)) from None
    if args.check:
        return repo, None
    if not args.model:
        raise UsageError("--model is required (or ask for --check)")
    return repo, engine_config(args)


async def _fix(args: argparse.Namespace, interrupts: Interrupts) -> int:
    repo, config = _checked(args)
    request = FixRequest(
        repo,
        tuple(args.test),
        tuple(args.function),
        args.description,
        keep_passing=tuple(args.keep_passing),
        test_timeout_s=args.test_timeout,
    )
    if not args.check:  # a missing key or a bad flag: one line before the repository's tests run
        check_keys(args)
        engine_config(args)
    image = await environment(repo, args.image)
    try:
        async with open_sandbox(DockerConfig(image=image)) as box:
            examined = await examine(request, box)
            if config is None:
                print("\n".join(check_lines(examined)))
                return 0
            for line in [f"fixing: {targets_line(examined.setup.targets)}", *choice_lines(examined)]:
                print(f"[codesolve] {line}", file=sys.stderr, flush=True)
            async with open_llm(llm_config(args)) as llm:
                result = await fix_repo(examined, box, llm, config, progress_printer(llm), interrupts.switch)
    except ImageMissing:
        if args.image is None:
            raise
        raise UsageError(f"--image {args.image}: no such image in the local Docker engine") from None
    return _report(args, result, interrupts)


def _report(args: argparse.Namespace, result: FixResult, interrupts: Interrupts) -> int:
    """The diff on stdout when it is a fix; the tests and the cost on stderr; ``--apply``."""
    stopped = result.solution.stopped_by
    if stopped is not None and stopped.kind == "model" and result.solution.candidates == 0:
        # Nothing was computed (a dead endpoint, a bad key, an unknown model): one line, no summary.
        raise LLMError(stopped.detail)
    good = bool(result.diff) and not result.still_failing and not result.broken
    if good:
        sys.stdout.write(result.diff)
    for line in result_lines(result):
        print(line, file=sys.stderr)
    try:
        print(f"trace: {save_trace(result, args.out)}", file=sys.stderr)
        if result.diff and not good:
            # Not a fix, so not on stdout (where `| git apply` would take it): kept for a look.
            print(f"not selected as a fix; its diff: {save_diff(result, args.out)}", file=sys.stderr)
    except OutputError as exc:
        print(f"trace not written: {exc}", file=sys.stderr)
    if interrupts.pressed:
        raise Interrupted("interrupted")
    if args.apply and good:
        written = apply_fix(result)
        print(f"applied to {', '.join(written)}", file=sys.stderr)
    elif args.apply:
        print("not applied: no candidate passes every test", file=sys.stderr)
    return 0 if good else 1


def run(args: argparse.Namespace) -> int:
    """Entry point of ``codesolve fix``."""
    interrupts = Interrupts()
    return interrupts.run(lambda: _fix(args, interrupts))

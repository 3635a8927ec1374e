"""Command line: thin. Parses arguments, builds config, calls the library, prints.

Every subcommand lives in :mod:`codesolve.commands` as a module with
``register(subparsers)``; errors codesolve raises on purpose become one line on
stderr and exit code 2, never a traceback. Everything printed goes through
:func:`codesolve.terminal.safe_terminal` (no raw control characters reach the
terminal), and Ctrl-C ends with ``codesolve: interrupted`` and exit 130.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Sequence

from pydantic import ValidationError

from codesolve import __version__
from codesolve.commands.interrupt import INTERRUPTED, Interrupted
from codesolve.errors import CodesolveError
from codesolve.terminal import safe_terminal
from sandbox.errors import SandboxError

COMMANDS: tuple[str, ...] = ("solve", "fix", "demo", "validate", "judge", "sandbox", "batch", "eval", "report")
"""Subcommand modules under ``codesolve.commands``, in help order."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse's own exit code 2 is what we want; keep its one-line message.
        self.exit(2, f"codesolve: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every subcommand registered."""
    parser = _Parser(prog="codesolve", description="S*-style test-time scaling for code generation.")
    parser.add_argument("--version", action="version", version=f"codesolve {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"codesolve.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``codesolve`` console script."""
    with safe_terminal():
        return _main(argv)


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except Interrupted:
        return _interrupted()
    except (CodesolveError, SandboxError) as exc:
        print(f"codesolve: error: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        # A flag value a config model refused (e.g. -n 500): name the field, one line.
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or exc.title
        print(f"codesolve: error: {field}: {first['msg']}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return _interrupted()
    except BaseExceptionGroup as group:
        # A Ctrl-C that surfaced inside a task group: the same line, never the group's traceback.
        if group.split((KeyboardInterrupt, Interrupted))[1] is not None:
            raise
        return _interrupted()
    return code


def _interrupted() -> int:
    # Everything is written: a further Ctrl-C could only cut the exit short, and at interpreter
    # shutdown a Python handler is dropped, so the process would die by SIGINT instead of 130.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    print(INTERRUPTED, file=sys.stderr)
    return 130


if __name__ == "__main__":
    sys.exit(main())

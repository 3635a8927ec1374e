"""Flags and helpers several subcommands share."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from codesolve.llm import LLM
from sandbox import DockerConfig, LocalConfig, SandboxConfig, default_config


def add_sandbox_flags(parser: argparse.ArgumentParser) -> None:
    """``--sandbox docker|local`` and ``--allow-weaker``."""
    parser.add_argument("--sandbox", choices=["docker", "local"], help="backend (default: Docker when reachable)")
    parser.add_argument(
        "--allow-weaker", action="store_true", help="allow the local backend even though Docker is reachable"
    )


async def sandbox_config(args: argparse.Namespace) -> SandboxConfig:
    """The sandbox config the flags ask for."""
    if args.sandbox == "docker":
        return DockerConfig()
    if args.sandbox == "local":
        return LocalConfig(allow_weaker=args.allow_weaker)
    return await default_config()


def progress_printer(llm: LLM) -> Callable[[str], None]:
    """A progress callback printing one line with the running spend on stderr."""

    def show(line: str) -> None:
        usage = llm.usage.total
        cost = usage.cost_usd
        spent = f"{usage.total_tokens} tokens" + ("" if cost is None else f", ${cost:.4f}")
        print(f"[codesolve] {line} ({spent})", file=sys.stderr, flush=True)

    return show

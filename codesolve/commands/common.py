"""Flags and helpers several subcommands share."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from codesolve.llm import LLM
from sandbox import DockerConfig, LocalConfig, SandboxConfig, default_config, get_language, languages
from sandbox.errors import InvalidRequest


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


def language_arg(text: str) -> str:
    """An argparse ``type``: a language name or alias, as the sandbox's canonical name."""
    try:
        return get_language(text).name
    except InvalidRequest as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_language_flag(parser: argparse.ArgumentParser, what: str, default: str | None = None) -> None:
    """``--lang``, the same names everywhere: ``python`` and ``cpp``, with their aliases (``py``, ``c++``…)."""
    names = ", ".join(f"{lang.name} ({'/'.join(lang.aliases[:2])})" for lang in languages().values())
    tail = f"default {default}" if default else "default: from its suffix, else python"
    parser.add_argument("--lang", type=language_arg, default=default, help=f"language of {what}: {names}; {tail}")


def add_model_flags(parser: argparse.ArgumentParser) -> None:
    """The model endpoint, its key, prices and request limits: the same for every solving command."""
    p = parser
    p.add_argument("--model", required=True, help="model name for every role unless overridden")
    p.add_argument("--base-url", help="OpenAI-compatible endpoint (default: OpenAI)")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the key")
    p.add_argument("--judge-model", help="model for the judge and input synthesizer roles")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per model request (default 120)")
    p.add_argument("--max-retries", type=int, default=4, help="retries of a failed model request (default 4)")
    p.add_argument("--price", action="append", default=[], metavar="MODEL=IN,OUT", help="USD per 1M tokens")


def add_engine_flags(parser: argparse.ArgumentParser) -> None:
    """Candidates, debug rounds, the selector and the per-problem budget caps."""
    p = parser
    p.add_argument("-n", type=int, default=8, help="candidates per problem (default 8)")
    p.add_argument("--rounds", type=int, default=2, help="debug rounds (default 2)")
    p.add_argument("--selector", choices=["sstar", "codet", "majority", "first", "random"], default="sstar")
    p.add_argument(
        "--synth",
        choices=["llm", "hypothesis", "both"],
        help="selection's input sources (default: both for sstar, hypothesis for majority and codet)",
    )
    p.add_argument(
        "--adaptive", action="store_true", help="sample in waves: stop when survivors agree, more when none survive"
    )
    p.add_argument(
        "--no-judge-ahead",
        action="store_true",
        help="never ask the judge's first call beside synthesis (saves the calls dropped when its pair changes)",
    )
    add_language_flag(p, "the candidates (cpp: stdin problems only)", default="python")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--budget-usd", type=float, help="dollar cap per problem")
    p.add_argument("--budget-tokens", type=int, help="token cap per problem")
    p.add_argument("--budget-seconds", type=float, help="wall-time cap per problem")


def progress_printer(llm: LLM) -> Callable[[str], None]:
    """A progress callback printing one line with the running spend on stderr."""

    def show(line: str) -> None:
        usage = llm.usage.total
        cost = usage.cost_usd
        spent = f"{usage.total_tokens} tokens" + ("" if cost is None else f", ${cost:.4f}")
        print(f"[codesolve] {line} ({spent})", file=sys.stderr, flush=True)

    return show

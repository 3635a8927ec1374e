"""``codesolve sandbox build | doctor | cleanup``: the sandbox's own chores."""

from __future__ import annotations

import argparse
import time
from functools import partial
from typing import Any

from codesolve.commands.interrupt import Interrupts
from sandbox import DockerConfig, Limits, LocalConfig, Program, SandboxConfig, TestCase, Verdict, open_sandbox
from sandbox.admin import build_image, reap_containers
from sandbox.errors import SandboxError
from sandbox.image.recipe import available_pythons

_SMOKE = (
    ("python", "a, b = map(int, input().split())\nprint(a + b)\n"),
    ("cpp", '#include <cstdio>\nint main(){long a,b;if(scanf("%ld %ld",&a,&b)!=2)return 1;printf("%ld\\n",a+b);}\n'),
)


def register(subparsers: Any) -> None:
    """Add ``sandbox`` and its three actions."""
    parser = subparsers.add_parser("sandbox", help="build, check or clean up the sandbox")
    actions = parser.add_subparsers(dest="action", required=True)
    build = actions.add_parser("build", help="make the sandbox image (offline debootstrap unless --from-registry)")
    build.add_argument("--force", action="store_true", help="rebuild even if the image is present")
    build.add_argument("--from-registry", action="store_true", help="docker build the Dockerfile (needs a registry)")
    build.add_argument(
        "--python",
        metavar="VERSION",
        help=f"build the image variant offering this Python ({', '.join(available_pythons())}); "
        "SWE environments whose spec names it are built on it",
    )
    build.set_defaults(func=run_build)
    doctor = actions.add_parser("doctor", help="check the engine, the image and both backends")
    doctor.set_defaults(func=run_doctor)
    cleanup = actions.add_parser("cleanup", help="remove containers left behind by crashed runs")
    cleanup.add_argument("--all", action="store_true", help="remove every codesolve container, not only stale ones")
    cleanup.set_defaults(func=run_cleanup)


def run_build(args: argparse.Namespace) -> int:
    """Build (or confirm) the sandbox image."""
    started = time.monotonic()
    print(build_image(force=args.force, from_registry=args.from_registry, python=args.python))
    print(f"done in {time.monotonic() - started:.0f}s")
    return 0


def run_cleanup(args: argparse.Namespace) -> int:
    """Reap labelled containers."""
    print(f"removed {reap_containers(everything=args.all)} container(s)")
    return 0


async def _smoke(config: SandboxConfig) -> str:
    async with open_sandbox(config) as box:
        verdicts = []
        for language, source in _SMOKE:
            outcomes = await box.run_tests(
                Program.single(language, source), [TestCase(stdin="2 40\n", expected="42\n")], Limits(cpu_seconds=2)
            )
            verdicts.append(f"{language}={outcomes[0].verdict.value}")
            if outcomes[0].verdict is not Verdict.AC:
                raise SandboxError(f"{language} smoke test gave {outcomes[0].verdict.value}: {outcomes[0].message}")
        return f"{', '.join(verdicts)}; isolation: {box.isolation}"


def run_doctor(_args: argparse.Namespace) -> int:
    """Check each piece and say what is wrong, one line each."""
    problems = 0
    for name, config in (("docker", DockerConfig(pool_size=1)), ("local", LocalConfig(allow_weaker=True))):
        try:
            print(f"ok    {name}: {Interrupts().run(partial(_smoke, config))}")
        except SandboxError as exc:
            problems += 1
            print(f"FAIL  {name}: {exc}")
    return 0 if problems == 0 else 1

"""The environment layers of a SWE instance: sandbox image → (repo, version) image → checkout.

The middle layer is :func:`sandbox.environments.build_environment` (a derived
image tagged by the hash of the base image and the spec's requirements, so it
is built once per (repo, version) and found again by content; the host's pip
uses the network for the build only). Its base is the sandbox image offering
the spec's Python: the default image, or a variant bootstrapped from Debian the
first time an instance needs it. The checkout is the instance layer, copied
into each sandbox run. A build that fails, or a spec asking for a Python no
sandbox image offers, is an :class:`EnvironmentBuildError`: an infrastructure
error for the instance, never a wrong patch.
"""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread

from codesolve.tasks.repo.workspace import requirement_files
from codesolve.tasks.swe.specs import EnvSpec, requirements_text
from sandbox.environments import build_environment


async def environment_for(spec: EnvSpec, tree: Path) -> str:
    """The image tag of the spec's environment (EnvironmentBuildError with the reason when it cannot be)."""
    if spec.requirements:
        requirements = {"requirements.txt": requirements_text(spec)}
    else:
        requirements = await anyio.to_thread.run_sync(requirement_files, tree)
    return await build_environment(requirements, python=spec.python)

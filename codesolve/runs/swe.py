"""SWE instances: each checked out fresh in its environment, its patch made (or given) and graded.

:func:`prepare` builds the layers an instance needs (mirror, checkout at
``base_commit``, the (repo, version) environment image); :func:`grade_instance`
grades a patch on a fresh checkout. Failures that are not the patch's fault
(the environment, the repository) become ``infra_error`` grades with their
reason, never exceptions. Where runs are stored: :mod:`codesolve.runs.swe_batch`.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread

from codesolve.errors import RepositoryError
from codesolve.runs.swe_env import environment_for
from codesolve.tasks.models import SweInstance
from codesolve.tasks.swe.checkout import fresh_tree, mirror_for
from codesolve.tasks.swe.grading import Grade, grade
from codesolve.tasks.swe.specs import EnvSpec, find_spec
from sandbox import DockerConfig, Sandbox, open_sandbox
from sandbox.environments import EnvironmentBuildError

CACHE = ".swe-cache"
"""Mirrors unpacked or committed from source trees, and the checkouts in use (under the run folder)."""


@dataclass(frozen=True)
class SweSettings:
    """Where repositories, specs and the run live."""

    repos: Path
    out: Path
    """The run folder (its store, exports and ``.swe-cache``)."""
    specs_dir: Path | None = None


@dataclass(frozen=True)
class Prepared:
    """An instance with its spec, mirror and environment image."""

    instance: SweInstance
    spec: EnvSpec
    mirror: Path
    image: str
    work: Path

    def tree(self, name: str) -> Path:
        """A new checkout at the base commit under the instance's work folder."""
        dest = self.work / f"{name}-{time.monotonic_ns()}"
        return fresh_tree(self.mirror, self.instance.base_commit, dest)


async def remove_tree(path: Path) -> None:
    """Remove a checkout, shielded: cleanup runs to the end even when the run is being cancelled."""
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(shutil.rmtree, path, True)


async def prepare(instance: SweInstance, settings: SweSettings) -> Prepared:
    """Spec, mirror, a first checkout and the environment image (EnvironmentBuildError, RepositoryError)."""
    cache = settings.out / CACHE / "mirrors"
    cache.mkdir(parents=True, exist_ok=True)
    spec = find_spec(instance.repo, instance.version, settings.specs_dir)
    mirror = await anyio.to_thread.run_sync(mirror_for, settings.repos, instance.repo, cache)
    # Each preparation has a work folder of its own: two lanes never share (or remove) one checkout.
    work = settings.out / CACHE / "work" / f"{instance.instance_id}-{time.monotonic_ns()}"
    probe = Prepared(instance, spec, mirror, "", work)
    try:
        tree = await anyio.to_thread.run_sync(probe.tree, "env")
        try:
            image = await environment_for(spec, tree)
        finally:
            await remove_tree(tree)
    except BaseException:
        # A checkout made while the run was being cancelled lands after the cancellation: all of it goes.
        await remove_tree(work)
        raise
    return Prepared(instance, spec, mirror, image, work)


def infra_reason(exc: Exception) -> str:
    """The reason an instance could not be prepared (an infrastructure error, not the patch's fault)."""
    what = "environment build failed" if isinstance(exc, EnvironmentBuildError) else "repository"
    return f"{what}: {exc}"


@asynccontextmanager
async def environment(instance: SweInstance, settings: SweSettings) -> AsyncIterator[tuple[Prepared, Sandbox]]:
    """The prepared instance and a sandbox of its environment image; its checkouts removed on exit.

    Raises EnvironmentBuildError or RepositoryError when the instance cannot be prepared.
    """
    prepared = await prepare(instance, settings)
    try:
        async with open_sandbox(DockerConfig(image=prepared.image, pool_size=1)) as box:
            yield prepared, box
    finally:
        await remove_tree(prepared.work)


async def grade_patch(prepared: Prepared, sandbox: Sandbox, patch: str) -> Grade:
    """Grade ``patch`` on a fresh checkout (removed afterwards)."""
    tree = await anyio.to_thread.run_sync(prepared.tree, "grade")
    try:
        return await grade(prepared.instance, tree, sandbox, prepared.spec, patch)
    finally:
        await remove_tree(tree)


BoxWrap = Callable[[Sandbox], Sandbox]
"""Wraps an instance's sandbox (the batch's shared slot limit)."""


async def grade_instance(instance: SweInstance, settings: SweSettings, patch: str, wrap: BoxWrap) -> Grade:
    """Grade a stored patch in the instance's environment (an infra_error grade when it cannot be prepared)."""
    try:
        async with environment(instance, settings) as (prepared, box):
            return await grade_patch(prepared, wrap(box), patch)
    except (EnvironmentBuildError, RepositoryError) as exc:
        return Grade(instance.instance_id, "infra_error", infra_reason(exc))

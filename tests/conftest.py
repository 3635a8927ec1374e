"""Session fixtures shared by the whole suite: one warm sandbox per backend.

The last thing the session checks is that no container labelled ``codesolve``
is left behind: a leak anywhere in the suite fails it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Iterator

import pytest

from sandbox import DockerConfig, LocalConfig, Sandbox, docker_reachable, make_sandbox
from sandbox._docker.containers import owner
from sandbox.image.recipe import image_tag


def labelled_containers(owner: str | None = None) -> list[str]:
    """Ids of containers carrying the codesolve label (via the docker CLI, independent of our code).

    ``owner`` (``host:pid``) narrows it to one process's containers, so that
    other sessions sharing the engine do not make this one fail.
    """
    label = "codesolve" if owner is None else f"codesolve.owner={owner}"
    proc = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={label}"], capture_output=True, text=True, timeout=30, check=False
    )
    return proc.stdout.split()


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """All async tests run on asyncio."""
    return "asyncio"


@pytest.fixture(scope="session")
def docker_available() -> bool:
    """Whether a Docker engine answers (in CI it must)."""
    return docker_reachable()


@pytest.fixture(scope="session")
async def docker_box(anyio_backend: str, docker_available: bool) -> AsyncIterator[Sandbox]:
    """A warm Docker sandbox shared by the session.

    ``CODESOLVE_TEST_PYTHON=3.9`` runs it on the image variant offering that Python
    (built beforehand with ``codesolve sandbox build --python 3.9``), to check the
    sandbox's guarantees there with the same tests.
    """
    if not docker_available:
        pytest.skip("no Docker engine reachable")
    image = image_tag(os.environ.get("CODESOLVE_TEST_PYTHON") or None)
    box = await make_sandbox(DockerConfig(pool_size=2, run_id="pytest", image=image))
    try:
        yield box
    finally:
        await box.aclose()


@pytest.fixture(scope="session")
async def local_box(anyio_backend: str) -> AsyncIterator[Sandbox]:
    """The local backend (explicitly allowed to be weaker)."""
    box = await make_sandbox(LocalConfig(allow_weaker=True))
    try:
        yield box
    finally:
        await box.aclose()


@pytest.fixture(scope="session", autouse=True)
def no_leaked_containers(docker_available: bool) -> Iterator[None]:
    """Fail the session if any labelled container survives it."""
    yield
    if docker_available:
        left = labelled_containers(owner())
        assert not left, f"containers labelled codesolve left behind by this session: {left}"

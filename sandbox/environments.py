"""Environments for repository work: the sandbox image plus a repository's requirements.

An environment is a derived image, ``codesolve-env:<hash>``, whose tag is a
hash of the base image's id and the requirement files, so it is built once and
found again by content. How it is built, and why:

* The requirements are resolved and unpacked **on the host**, by the host's
  pip, into a folder: ``pip install --target`` for the image's Python and
  platform, **wheels only**. Measured on our machines: a container given a
  network cannot reach PyPI (the egress proxy's certificate is trusted by the
  host only), and the sandbox image carries no pip. Wheels only also means no
  package's build script runs anywhere: nothing from the repository executes
  during the build.
* The folder is copied into a container of the base image that has **no
  network** and never starts, at the image's site-packages; the container is
  committed as the environment and removed.

* An environment for another Python than the default image's sits on the
  variant image offering it (:mod:`sandbox.image.recipe`), bootstrapped from
  Debian the first time one is needed; pip then resolves wheels for that
  Python's version and ABI, and for the variant's glibc.

A failed build is :class:`EnvironmentBuildError` with pip's last lines (or why
the base image offering the Python could not be had): an infrastructure error,
never a verdict on a candidate.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import tarfile
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import docker.errors

from sandbox._docker.containers import LABEL, LABEL_EXPIRES, LABEL_OWNER, owner, remove
from sandbox._docker.engine import connect
from sandbox._docker.images import ensure_variant
from sandbox.errors import ImageBuildError, ImageMissing, PythonUnavailable
from sandbox.image.recipe import DEFAULT_PYTHON, glibc_of, image_tag, variant

ENV_REPOSITORY = "codesolve-env"
RECIPE_VERSION = 1
"""Bump when the way environments are built changes (every cached one is then rebuilt)."""
PYTHON_VERSION = DEFAULT_PYTHON
"""The Python environments are built for unless another is asked for."""
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64")
"""Wheel platforms, newest glibc last; an image takes those its glibc can load."""
PIP_TAIL_LINES = 8


def site_packages(python: str = PYTHON_VERSION) -> str:
    """Where the image's Debian ``python{python}`` looks for locally installed packages."""
    return f"usr/local/lib/python{python}/dist-packages"


def platforms(python: str = PYTHON_VERSION) -> tuple[str, ...]:
    """The wheel platforms the image offering ``python`` can load (bounded by its glibc)."""
    glibc = glibc_of(python)
    return tuple(p for p in PLATFORMS if _glibc_of_platform(p) <= glibc)


def _glibc_of_platform(platform: str) -> tuple[int, int]:
    if platform.startswith("manylinux2014"):
        return (2, 17)
    major, minor = platform.split("_")[1:3]
    return (int(major), int(minor))


class EnvironmentBuildError(ImageBuildError):
    """Installing a repository's requirements failed (the message ends with pip's last lines)."""


def environment_tag(base_id: str, requirements: Mapping[str, bytes], python: str = PYTHON_VERSION) -> str:
    """``codesolve-env:<hash>`` of a base image id, the Python and requirement files (name and content)."""
    digest = hashlib.sha256(f"{RECIPE_VERSION}\0{base_id}\0{python}\0{','.join(platforms(python))}".encode())
    for name in sorted(requirements):
        digest.update(b"\0" + name.encode() + b"\0" + hashlib.sha256(requirements[name]).digest())
    return f"{ENV_REPOSITORY}:{digest.hexdigest()[:16]}"


def pip_command(target: Path, files: Sequence[str], python: str = PYTHON_VERSION) -> list[str]:
    """The host pip call that unpacks the requirements for the image's Python (version, ABI and
    glibc), wheels only."""
    wanted = [arg for p in platforms(python) for arg in ("--platform", p)]
    requirements = [arg for f in files for arg in ("-r", f)]
    return [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-compile",
        "--target", str(target), "--only-binary=:all:", "--python-version", python,
        "--implementation", "cp", *wanted, *requirements,
    ]  # fmt: skip


def _tar_of(folder: Path, python: str) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(folder.rglob("*")):
            if "__pycache__" in path.parts or path.is_symlink():
                continue
            info = tar.gettarinfo(str(path), arcname=f"{site_packages(python)}/{path.relative_to(folder).as_posix()}")
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mode = 0o755 if path.is_dir() else 0o644
            if path.is_dir():
                tar.addfile(info)
            else:
                with path.open("rb") as data:
                    tar.addfile(info, data)
    return buffer.getvalue()


def _commit(client: Any, base: str, archive: bytes, tag: str) -> None:
    repository, _, version = tag.partition(":")
    # Labelled like the pool's containers, with an expiry, so a reaper sees a live owner's
    # container (and removes it if we die) instead of an unlabelled leak or a stale one.
    labels = {LABEL: "1", LABEL_OWNER: owner(), LABEL_EXPIRES: str(int(time.time()) + 600)}
    container = client.containers.create(base, command=["true"], network_disabled=True, labels=labels)
    try:
        if not container.put_archive("/", archive):
            raise ImageBuildError(f"copying the requirements into {base} failed")
        container.commit(repository=repository, tag=version, conf={"Labels": {"codesolve.environment": "1"}})
    finally:
        remove(container)


async def build_environment(
    requirements: Mapping[str, bytes],
    base_image: str | None = None,
    timeout_s: float = 900.0,
    python: str | None = None,
) -> str:
    """The tag of the environment for ``requirements`` (relative name → content), built if missing.

    ``python`` (a version such as ``"3.9"``; default the default image's) picks the base
    image, bootstrapped if it is a variant not yet built. With no requirement files the
    base image itself is the environment. A Python no image offers is an EnvironmentBuildError.
    """
    version = python or PYTHON_VERSION
    try:
        variant(version)
    except PythonUnavailable as exc:
        raise EnvironmentBuildError(str(exc)) from None
    client = await anyio.to_thread.run_sync(connect, 30.0)
    base = base_image or await _base_image(client, version)
    try:
        base_id = (await anyio.to_thread.run_sync(client.images.get, base)).id
    except docker.errors.ImageNotFound:
        raise ImageMissing(f"image {base} is not in the local engine (codesolve sandbox build)") from None
    if not requirements:
        return base
    tag = environment_tag(base_id, requirements, version)
    try:
        await anyio.to_thread.run_sync(client.images.get, tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    with tempfile.TemporaryDirectory(prefix="codesolve-env-") as tmp:
        root = Path(tmp)
        for name, data in requirements.items():
            (root / "req" / name).parent.mkdir(parents=True, exist_ok=True)
            (root / "req" / name).write_bytes(data)
        files = [n for n in sorted(requirements) if "/" not in n] or sorted(requirements)
        await _pip(root, files, timeout_s, version)
        archive = await anyio.to_thread.run_sync(_tar_of, root / "site", version)
    try:
        await anyio.to_thread.run_sync(_commit, client, base, archive, tag)
    except docker.errors.DockerException as exc:
        raise EnvironmentBuildError(f"committing environment {tag} failed: {exc}") from exc
    return tag


async def _base_image(client: Any, python: str) -> str:
    """The sandbox image offering ``python``: the default one, or the variant (built if missing)."""
    if variant(python) is None:
        return image_tag()
    try:
        # Minutes the first time (a debootstrap); abandoned on cancel so Ctrl-C is not held up.
        return await anyio.to_thread.run_sync(ensure_variant, client, python, abandon_on_cancel=True)
    except ImageBuildError as exc:
        raise EnvironmentBuildError(f"the Python {python} sandbox image could not be built: {exc}") from exc


async def _pip(root: Path, files: Sequence[str], timeout_s: float, python: str) -> None:
    command = pip_command(root / "site", files, python)
    env = {**os.environ, "PIP_NO_INPUT": "1"}
    with anyio.move_on_after(timeout_s) as scope:
        proc = await anyio.run_process(command, cwd=root / "req", env=env, check=False, stdin=None)
    if scope.cancelled_caught:
        raise EnvironmentBuildError(f"installing the requirements took longer than {timeout_s:.0f}s")
    if proc.returncode != 0:
        output = (proc.stderr or b"").decode("utf-8", "replace") + (proc.stdout or b"").decode("utf-8", "replace")
        lines = [line.strip() for line in output.splitlines() if line.strip()][-PIP_TAIL_LINES:]
        raise EnvironmentBuildError(
            f"installing {', '.join(files)} failed (pip exit {proc.returncode}): " + " | ".join(lines)
        )

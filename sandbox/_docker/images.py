"""Making the sandbox image exist: offline bootstrap + import, or a registry build."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import docker.errors

from sandbox.errors import ImageBuildError
from sandbox.image.build import build_offline
from sandbox.image.recipe import SANDBOX_UID, image_tag

_IMPORT_CHANGES = [f"USER {SANDBOX_UID}:{SANDBOX_UID}", "WORKDIR /sandbox", "ENV LANG=C.UTF-8"]


def image_present(client: Any, tag: str | None = None) -> bool:
    """True when the image is in the local engine."""
    try:
        client.images.get(tag or image_tag())
    except docker.errors.ImageNotFound:
        return False
    return True


def import_rootfs(client: Any, tarball: Path, tag: str) -> str:
    """``docker import`` a root filesystem tarball as ``tag``; return the image id."""
    repository, _, version = tag.partition(":")
    try:
        client.api.import_image_from_file(str(tarball), repository=repository, tag=version, changes=_IMPORT_CHANGES)
        image_id: str = client.images.get(tag).id
    except docker.errors.DockerException as exc:
        raise ImageBuildError(f"docker import of {tarball} failed: {exc}") from exc
    return image_id


def build_image(client: Any, force: bool = False, from_registry: bool = False) -> str:
    """Make sure the sandbox image exists; return a one-line description of what was done."""
    tag = image_tag()
    if image_present(client, tag) and not force:
        return f"{tag} is already present"
    if from_registry:
        context = Path(str(resources.files("sandbox").joinpath("image")))
        try:
            client.images.build(path=str(context), tag=tag, rm=True, pull=True)
        except docker.errors.DockerException as exc:
            raise ImageBuildError(f"docker build from {context}/Dockerfile failed: {exc}") from exc
        return f"built {tag} from the Dockerfile"
    tarball, source = build_offline()
    try:
        image_id = import_rootfs(client, tarball, tag)
    finally:
        shutil.rmtree(tarball.parent, ignore_errors=True)
    return f"bootstrapped {tag} ({image_id[:19]}) from {source.mirror} {source.suite}"

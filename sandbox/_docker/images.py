"""Making the sandbox image exist: offline bootstrap + import, or a registry build.

A variant image (another Python, see :mod:`sandbox.image.recipe`) is built only
offline, from Debian packages: the Dockerfile describes the default image only.
"""

from __future__ import annotations

import fcntl
import shutil
import tempfile
import threading
from importlib import resources
from pathlib import Path
from typing import Any

import docker.errors

from sandbox.errors import ImageBuildError
from sandbox.image.build import build_offline
from sandbox.image.recipe import DEFAULT_PYTHON, SANDBOX_UID, image_tag, variant

_IMPORT_CHANGES = [f"USER {SANDBOX_UID}:{SANDBOX_UID}", "WORKDIR /sandbox", "ENV LANG=C.UTF-8"]
LABEL_IMAGE = "codesolve.image"
LABEL_PYTHON = "codesolve.python"


def image_present(client: Any, tag: str | None = None) -> bool:
    """True when the image is in the local engine."""
    try:
        client.images.get(tag or image_tag())
    except docker.errors.ImageNotFound:
        return False
    return True


def import_rootfs(client: Any, tarball: Path, tag: str, python: str = DEFAULT_PYTHON) -> str:
    """``docker import`` a root filesystem tarball as ``tag``, labelled with its Python; return the image id."""
    repository, _, version = tag.partition(":")
    changes = [*_IMPORT_CHANGES, f"LABEL {LABEL_IMAGE}=sandbox {LABEL_PYTHON}={python}"]
    try:
        client.api.import_image_from_file(str(tarball), repository=repository, tag=version, changes=changes)
        image_id: str = client.images.get(tag).id
    except docker.errors.DockerException as exc:
        raise ImageBuildError(f"docker import of {tarball} failed: {exc}") from exc
    return image_id


def check_request(python: str | None, from_registry: bool) -> None:
    """Refuse, before any work, an image no build can make (ImageBuildError, PythonUnavailable)."""
    if variant(python) is not None and from_registry:
        raise ImageBuildError(
            f"--from-registry builds the Python {DEFAULT_PYTHON} image only; "
            f"omit it to bootstrap Python {python} from Debian"
        )


def build_image(client: Any, force: bool = False, from_registry: bool = False, python: str | None = None) -> str:
    """Make sure the sandbox image offering ``python`` exists; a one-line description of what was done.

    Raises ImageBuildError (PythonUnavailable for a Python no image can offer).
    """
    check_request(python, from_registry)
    tag = image_tag(python)
    if image_present(client, tag) and not force:
        return f"{tag} is already present"
    if from_registry:
        context = Path(str(resources.files("sandbox").joinpath("image")))
        try:
            client.images.build(path=str(context), tag=tag, rm=True, pull=True)
        except docker.errors.DockerException as exc:
            raise ImageBuildError(f"docker build from {context}/Dockerfile failed: {exc}") from exc
        return f"built {tag} from the Dockerfile"
    tarball, source = build_offline(python=python)
    try:
        image_id = import_rootfs(client, tarball, tag, python or DEFAULT_PYTHON)
    finally:
        shutil.rmtree(tarball.parent, ignore_errors=True)
    return f"bootstrapped {tag} ({image_id[:19]}) from {source.mirror} {source.suite}"


_BUILDING = threading.Lock()


def ensure_variant(client: Any, python: str) -> str:
    """The tag of the variant image offering ``python``, bootstrapped first if it is missing.

    One build at a time per machine: a thread lock here, and a file lock beside the
    other processes' (two runs needing the image at once build it once; the second
    finds it made). Raises ImageBuildError (PythonUnavailable).
    """
    tag = image_tag(python)
    if image_present(client, tag):
        return tag
    lock_path = Path(tempfile.gettempdir()) / f"codesolve-image-{tag.partition(':')[2]}.lock"
    with _BUILDING, lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        build_image(client, python=python)  # "already present" when another process made it meanwhile
    return tag

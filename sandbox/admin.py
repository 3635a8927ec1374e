"""The sandbox's chores, for the CLI and for emergencies: build the image, reap containers.

Docker's SDK is imported lazily, inside each function, so ``import sandbox`` stays light and
works where Docker is not installed.
"""

from __future__ import annotations

import threading
from typing import Any

_CONNECT_TIMEOUT_S = 30.0
_REAP_WAIT_S = 20.0


def build_image(force: bool = False, from_registry: bool = False, python: str | None = None) -> str:
    """Build (or confirm) the sandbox image offering ``python`` (default: the default image's);
    a line saying which image and how it was made.

    Raises :class:`sandbox.errors.DockerUnavailable` or :class:`~sandbox.errors.ImageBuildError`
    (:class:`~sandbox.errors.PythonUnavailable` for a Python no image can offer).
    """
    from sandbox._docker.engine import connect
    from sandbox._docker.images import build_image as build
    from sandbox._docker.images import check_request

    check_request(python, from_registry)  # refused before the engine is asked anything
    return build(connect(_CONNECT_TIMEOUT_S), force=force, from_registry=from_registry, python=python)


def reap_containers(everything: bool = False) -> int:
    """Remove labelled containers whose owner is gone or whose TTL expired (all of ours with
    ``everything``); the count. Raises :class:`sandbox.errors.DockerUnavailable`."""
    from sandbox._docker.containers import reap
    from sandbox._docker.engine import connect

    return reap(connect(_CONNECT_TIMEOUT_S), everything=everything)


def remove_own_containers() -> int:
    """Force-remove every sandbox container this process owns, all at once; the count.

    For a second Ctrl-C, when nothing may be waited on: best effort, never raises, and each
    removal is bounded (a container missed here is reaped later by its TTL label).
    """
    try:
        import docker

        from sandbox._docker.containers import LABEL_OWNER, owner

        client = docker.from_env(timeout=10)
        found = client.containers.list(all=True, filters={"label": f"{LABEL_OWNER}={owner()}"}, ignore_removed=True)
    except Exception:
        return 0  # no Docker here (local backend): nothing to remove
    removers = [threading.Thread(target=_force_remove, args=(c,), daemon=True) for c in found]
    for remover in removers:
        remover.start()
    for remover in removers:
        remover.join(_REAP_WAIT_S)
    return len(found)


def _force_remove(container: Any) -> None:
    try:
        container.remove(force=True)
    except Exception:
        pass  # already gone, or the engine is busy: its TTL label reaps it later

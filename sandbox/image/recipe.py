"""What goes into the sandbox image, and the tag derived from it.

The tag is a hash of the recipe so that changing the package list makes every
backend ask for a new image instead of silently using a stale one.
"""

from __future__ import annotations

import hashlib

IMAGE_REPOSITORY = "codesolve-sandbox"
"""Repository name of the sandbox image in the local engine."""

SANDBOX_UID = 10001
"""Unprivileged uid (and gid) that candidate programs run as inside the container."""

PACKAGES: tuple[str, ...] = ("python3", "g++", "python3-pytest", "procps")
"""Debian packages on top of ``minbase``: interpreters, compilers and pytest for repo mode."""

RECIPE_VERSION = 1
"""Bump when the bootstrap changes in a way the package list does not show."""


def image_tag() -> str:
    """Full ``repository:tag`` of the image this version of codesolve expects."""
    digest = hashlib.sha256(f"{RECIPE_VERSION}:{','.join(PACKAGES)}:{SANDBOX_UID}".encode()).hexdigest()
    return f"{IMAGE_REPOSITORY}:{digest[:12]}"

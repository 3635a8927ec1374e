"""What goes into the sandbox image, and the tag derived from it.

The tag is a hash of the recipe so that changing the package list makes every
backend ask for a new image instead of silently using a stale one.

The default image is bootstrapped from the suite this machine's apt sources
name (bookworm: Python 3.11). A **variant** offers another Python: the same
recipe bootstrapped from the Debian suite whose ``python3`` is that version, so
the agent, the fork server and the tests all run on the one interpreter the
repository needs, and every container setting stays the same.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sandbox.errors import PythonUnavailable

IMAGE_REPOSITORY = "codesolve-sandbox"
"""Repository name of the sandbox image in the local engine."""

SANDBOX_UID = 10001
"""The first unprivileged uid (and gid) candidate programs run as inside a container."""

SANDBOX_UIDS = range(SANDBOX_UID, SANDBOX_UID + 64)
"""The uids containers run as, one per container: the kernel counts some things per uid, not
per container (inotify instances, queued real-time signals, POSIX message queue bytes), so
containers sharing a uid would share them, and a test could use up what a test running at the
same moment in another container needs. The image names each of them ``sandbox``, home
``/sandbox``, so a program sees the same user whichever container it lands in."""

PACKAGES: tuple[str, ...] = ("python3", "g++", "python3-pytest", "procps")
"""Debian packages on top of ``minbase``: interpreters, compilers and pytest for repo mode."""

RECIPE_VERSION = 2
"""Bump when the bootstrap changes in a way the package list does not show."""

DEFAULT_PYTHON = "3.11"
"""The Python of the default image (bookworm's ``python3``)."""

DEFAULT_GLIBC = (2, 36)
"""bookworm's glibc: the newest ``manylinux`` wheels the default image can load."""


@dataclass(frozen=True)
class Variant:
    """A sandbox image offering another Python: the Debian suite whose ``python3`` it is."""

    python: str
    suite: str
    glibc: tuple[int, int]
    """The suite's glibc, which bounds the ``manylinux_2_N`` wheels its environments may use."""


VARIANTS: dict[str, Variant] = {"3.9": Variant("3.9", "bullseye", (2, 31))}
"""Pythons other than the default that an image can be bootstrapped for, by version."""


def available_pythons() -> list[str]:
    """Every Python version a sandbox image can offer, oldest first."""
    return sorted({DEFAULT_PYTHON, *VARIANTS}, key=lambda v: tuple(int(p) for p in v.split(".")))


def variant(python: str | None) -> Variant | None:
    """The variant offering ``python``; None for the default image. Raises :class:`PythonUnavailable`."""
    if python is None or python == DEFAULT_PYTHON:
        return None
    found = VARIANTS.get(python)
    if found is None:
        offered = ", ".join(available_pythons())
        raise PythonUnavailable(f"no sandbox image offers Python {python} (available: {offered})")
    return found


def glibc_of(python: str | None) -> tuple[int, int]:
    """The glibc of the image offering ``python``."""
    found = variant(python)
    return DEFAULT_GLIBC if found is None else found.glibc


def image_tag(python: str | None = None) -> str:
    """Full ``repository:tag`` of the image offering ``python`` (default: the default image).

    The default image's tag does not mention the Python, so images built before
    variants existed keep their name.
    """
    recipe = f"{RECIPE_VERSION}:{','.join(PACKAGES)}:{SANDBOX_UIDS.start}-{SANDBOX_UIDS.stop}"
    found = variant(python)
    if found is not None:
        recipe += f":python{found.python}:{found.suite}"
    return f"{IMAGE_REPOSITORY}:{hashlib.sha256(recipe.encode()).hexdigest()[:12]}"

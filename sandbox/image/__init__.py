"""Sandbox image: the recipe, the offline bootstrap, and the tag that names it.

Two ways to get the image:

* ``Dockerfile`` beside this file, ``FROM`` a python slim image, for machines that
  can reach a registry;
* :func:`sandbox.image.build.build_offline`, which debootstraps a minimal Debian from
  the mirror this machine's apt sources name and ``docker import``s it, for
  machines (like CI) with an engine but no registry.
"""

from sandbox.image.recipe import IMAGE_REPOSITORY, PACKAGES, SANDBOX_UID, image_tag

__all__ = ["IMAGE_REPOSITORY", "PACKAGES", "SANDBOX_UID", "image_tag"]

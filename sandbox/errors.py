"""The sandbox exception tree, documented in one place.

::

    SandboxError                      anything the sandbox raises on purpose
    ├── SandboxUnavailable            the backend cannot be used at all
    │   ├── DockerUnavailable         no engine, or the daemon does not answer
    │   └── ImageMissing              the sandbox image is not in the local engine
    ├── ImageBuildError               the offline image build failed
    │   └── PythonUnavailable         no sandbox image can offer the Python asked for
    ├── SandboxFault                  an infrastructure fault during a batch (becomes SE)
    └── InvalidRequest                the caller asked for something malformed

Faults of the candidate program are never exceptions: they are verdicts.
"""

from __future__ import annotations


class SandboxError(Exception):
    """Base of every error the sandbox raises on purpose."""


class SandboxUnavailable(SandboxError):
    """The chosen backend cannot run anything on this machine."""


class DockerUnavailable(SandboxUnavailable):
    """The Docker engine is missing or does not answer."""


class ImageMissing(SandboxUnavailable):
    """The sandbox image is not present; ``codesolve sandbox build`` makes it."""


class ImageBuildError(SandboxError):
    """The offline image build (debootstrap + import) failed."""


class PythonUnavailable(ImageBuildError):
    """No sandbox image offers the Python version asked for (the message lists those that exist)."""


class SandboxFault(SandboxError):
    """Infrastructure failed mid-batch; the affected tests are reported as SE."""


class InvalidRequest(SandboxError, ValueError):
    """A program, test or limit given to the sandbox is malformed."""

"""sandbox: run untrusted programs against tests, in Docker or locally.

Knows nothing of LLMs or problems; usable on its own as a judge::

    async with open_sandbox(DockerConfig()) as box:
        outcomes = await box.run_tests(Program.single("python", src), tests, Limits())

See :mod:`sandbox.errors` for the exception tree.
"""

from sandbox._factory import default_config, docker_reachable, make_sandbox, open_sandbox
from sandbox._protocol import DockerConfig, LocalConfig, Sandbox, SandboxConfig
from sandbox._types import (
    Capture,
    CheckerKind,
    CheckerSpec,
    ExecResult,
    Limits,
    Program,
    TestCase,
    TestOutcome,
    Verdict,
)
from sandbox.errors import (
    DockerUnavailable,
    ImageBuildError,
    ImageMissing,
    InvalidRequest,
    SandboxError,
    SandboxFault,
    SandboxUnavailable,
)
from sandbox.languages import Language, get_language, languages
from sandbox.urgency import Urgency, urgent

__all__ = [
    "Capture",
    "CheckerKind",
    "CheckerSpec",
    "DockerConfig",
    "DockerUnavailable",
    "ExecResult",
    "ImageBuildError",
    "ImageMissing",
    "InvalidRequest",
    "Language",
    "Limits",
    "LocalConfig",
    "Program",
    "Sandbox",
    "SandboxConfig",
    "SandboxError",
    "SandboxFault",
    "SandboxUnavailable",
    "TestCase",
    "TestOutcome",
    "Urgency",
    "Verdict",
    "default_config",
    "docker_reachable",
    "get_language",
    "languages",
    "make_sandbox",
    "open_sandbox",
    "urgent",
]

"""The ``Sandbox`` protocol and the backend configs (a pydantic union on ``type``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from sandbox._types import CheckerSpec, ExecResult, Limits, Program, TestCase, TestOutcome


@runtime_checkable
class Sandbox(Protocol):
    """Runs untrusted programs. Both backends implement this."""

    @property
    def isolation(self) -> str:
        """A short description of how strongly programs are isolated."""
        ...

    async def run_tests(
        self,
        program: Program,
        tests: Sequence[TestCase],
        limits: Limits,
        checker: CheckerSpec | None = None,
        fail_fast: bool = False,
    ) -> list[TestOutcome]:
        """Compile once, run every test (stop at the first failure with ``fail_fast``).

        Returns one outcome per test, in order; tests skipped by ``fail_fast`` are absent.
        Infrastructure faults come back as SE outcomes, never as exceptions. A batch asked for
        inside ``with sandbox.urgent():`` is one a caller is blocked on: a backend that queues
        batches by urgency (Docker) serves it first (:mod:`sandbox.urgency`); the local backend
        accepts the context and ignores it.
        """
        ...

    async def exec(
        self,
        command: Sequence[str],
        files: Mapping[str, bytes] | None = None,
        limits: Limits | None = None,
        directory: Path | None = None,
        collect: Sequence[str] = (),
    ) -> ExecResult:
        """Run a plain command in a fresh work dir holding ``files`` (and a copy of ``directory``).

        Files named in ``collect`` (relative to the work dir) are returned in ``ExecResult.files``.
        """
        ...

    async def warm(self, limits: Limits) -> None:
        """Get ready for batches under ``limits`` (start containers) so the first ones do not wait.

        Worth calling while something slow is in flight (the first model call);
        never raises for infrastructure faults: the batches themselves report those.
        """
        ...

    async def aclose(self) -> None:
        """Release every container or process the backend holds."""
        ...


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DockerConfig(_Config):
    """Docker backend: a warm pool of locked-down containers."""

    type: Literal["docker"] = "docker"
    image: str | None = None
    """Image to use; ``None`` means the tag this version of codesolve builds."""
    pool_size: int = Field(default=2, ge=1, le=64)
    """Containers kept warm (one batch runs in one container at a time)."""
    docker_threads: int = Field(default=4, ge=1, le=64)
    """Docker API calls allowed at once (each runs in a worker thread)."""
    api_timeout_s: float = Field(default=30.0, gt=0)
    """Deadline for one Docker API call."""
    api_retries: int = Field(default=2, ge=0, le=10)
    """Retries of a failed Docker API call before the batch is reported as SE."""
    ttl_s: int = Field(default=3600, ge=60)
    """A container removes itself this long after it started, whatever happens to us."""
    workdir_mb: int = Field(default=256, ge=16)
    """Size cap of the tmpfs work dir."""
    cpus: float = Field(default=1.0, gt=0)
    """CPU share of one container."""
    pin_cpus: bool = True
    """Give each container a CPU of the engine's own, as judges pin their workers: steadier
    timings, and a test's processes hand over to each other on one CPU instead of waking
    another. The CPU is the one the fewest codesolve containers of any run are pinned to;
    never pinned when ``cpus`` > 1."""
    run_id: str | None = None
    """Label that groups this run's containers; random when not given."""


class LocalConfig(_Config):
    """Local backend: the same driver on the host, with rlimits and (where possible) no network."""

    type: Literal["local"] = "local"
    allow_weaker: bool = False
    """Must be true to choose the local backend while a Docker engine is reachable."""
    workdir: Path | None = None
    """Where per-batch temporary directories go (the system default when ``None``)."""


SandboxConfig = Annotated[DockerConfig | LocalConfig, Field(discriminator="type")]
"""Either backend config; pydantic picks by the ``type`` field."""

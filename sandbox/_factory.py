"""Opening a sandbox from its config, with the safety rules about which backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from sandbox._protocol import DockerConfig, LocalConfig, Sandbox, SandboxConfig
from sandbox.errors import SandboxUnavailable


def docker_reachable(timeout_s: float = 5.0) -> bool:
    """True when a Docker engine answers a ping (the SDK is imported only here, lazily)."""
    try:
        from sandbox._docker.engine import connect

        connect(timeout_s).close()
    except (ImportError, SandboxUnavailable):
        return False
    return True


async def make_sandbox(config: SandboxConfig) -> Sandbox:
    """Build a backend from its config. The caller must ``aclose`` it."""
    if isinstance(config, DockerConfig):
        from sandbox._docker.backend import DockerSandbox

        return await DockerSandbox.open(config)
    if not config.allow_weaker and await anyio.to_thread.run_sync(docker_reachable):
        raise SandboxUnavailable(
            "a Docker engine is reachable, so the weaker local backend needs an explicit opt-in (--allow-weaker)"
        )
    from sandbox._local import LocalSandbox

    return LocalSandbox(config)


@asynccontextmanager
async def open_sandbox(config: SandboxConfig | None = None) -> AsyncIterator[Sandbox]:
    """``async with open_sandbox(cfg) as sb:`` — the backend, closed on exit even when cancelled."""
    box = await make_sandbox(config or DockerConfig())
    try:
        yield box
    finally:
        with anyio.CancelScope(shield=True):
            await box.aclose()


async def default_config() -> SandboxConfig:
    """Docker where an engine answers, else local (which then warns that it is weaker)."""
    if await anyio.to_thread.run_sync(docker_reachable):
        return DockerConfig()
    return LocalConfig(allow_weaker=True)

"""Shared fixtures of the LLM tests: the anyio backend and a thread-leak guard."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    """Run async tests on asyncio (the backend codesolve uses), session-scoped like the root conftest's."""
    return "asyncio"


def _server_threads() -> list[str]:
    # The scripted server's accept loop and its per-request handler threads.
    return [t.name for t in threading.enumerate() if "scripted-llm" in t.name or "process_request" in t.name]


@pytest.fixture(autouse=True)
def no_leaked_server_threads() -> Iterator[None]:
    """Fail any test that leaves a scripted-server thread running."""
    yield
    assert _server_threads() == []

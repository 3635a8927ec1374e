"""A sandbox that hands every call to another: the base of wrappers that change one thing.

Wrappers count, time, limit or inject faults into a sandbox's batches and leave the rest as
it is; each used to spell out the whole protocol to pass four of five calls through.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sandbox._protocol import Sandbox
    from sandbox._types import CheckerSpec, ExecResult, Limits, Program, TestCase, TestOutcome


class Forwarding:
    """Every :class:`~sandbox.Sandbox` call goes to ``inner``; subclasses override what they change.

    ``owns`` says whether closing the wrapper closes ``inner`` (a wrapper made around a
    sandbox someone else opened and will close does not).
    """

    def __init__(self, inner: Sandbox, *, owns: bool = True) -> None:
        self.inner = inner
        self.owns = owns

    @property
    def isolation(self) -> str:
        """The wrapped sandbox's."""
        return self.inner.isolation

    async def run_tests(
        self,
        program: Program,
        tests: Sequence[TestCase],
        limits: Limits,
        checker: CheckerSpec | None = None,
        fail_fast: bool = False,
    ) -> list[TestOutcome]:
        """Run on the wrapped sandbox."""
        return await self.inner.run_tests(program, tests, limits, checker, fail_fast)

    async def exec(
        self,
        command: Sequence[str],
        files: Mapping[str, bytes] | None = None,
        limits: Limits | None = None,
        directory: Path | None = None,
        collect: Sequence[str] = (),
    ) -> ExecResult:
        """Run on the wrapped sandbox."""
        return await self.inner.exec(command, files, limits, directory, collect)

    async def warm(self, limits: Limits) -> None:
        """Warm the wrapped sandbox."""
        await self.inner.warm(limits)

    async def aclose(self) -> None:
        """Close the wrapped sandbox when this wrapper owns it."""
        if self.owns:
            await self.inner.aclose()

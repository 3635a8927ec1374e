"""Forwarding: a wrapper passes every call through, and closes the wrapped sandbox only if it owns it."""

from __future__ import annotations

import pytest

from sandbox import Limits, LocalConfig, Program, TestCase, make_sandbox
from sandbox.forwarding import Forwarding

pytestmark = pytest.mark.anyio

ECHO = Program.single("python", "print(input())\n")


class Closings(Forwarding):
    """The real local sandbox, counting how often it is closed."""

    closed = 0

    async def aclose(self) -> None:
        self.closed += 1
        await super().aclose()


async def test_calls_pass_through_and_ownership_decides_the_close() -> None:
    box = Closings(await make_sandbox(LocalConfig(allow_weaker=True)))
    borrowed = Forwarding(box, owns=False)
    assert borrowed.isolation == box.inner.isolation
    outcomes = await borrowed.run_tests(ECHO, [TestCase(stdin="7\n", expected="7\n", name="t")], Limits())
    assert [o.verdict.value for o in outcomes] == ["AC"]
    result = await borrowed.exec(["python3", "-c", "print('ran')"])
    assert result.exit_code == 0
    assert "ran" in result.stdout.head
    await borrowed.aclose()
    assert box.closed == 0
    await Forwarding(box).aclose()
    assert box.closed == 1

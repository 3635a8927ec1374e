"""The runtime's messages are described once (sandbox/runtime/wire.py) and hold both ways.

mypy checks that each end names the same TypedDict; these tests check what mypy cannot: the
module stays importable by neither end at run time (the fork server copies every module it
imports into each test child), and what a real driver writes carries no field the types leave out.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

import sandbox._local
from sandbox import CheckerSpec, Limits, Program, Sandbox, TestCase, Verdict
from sandbox._stream import DriverStream
from sandbox.runtime import wire

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
KINDS: dict[str, type[Any]] = {
    "test": wire.TestEvent,
    "exec": wire.ExecEvent,
    "hello": wire.HelloEvent,
    "error": wire.ErrorEvent,
    "tests": wire.MarkEvent,
}


def test_the_wire_module_needs_only_the_standard_typing() -> None:
    tree = ast.parse(Path(wire.__file__).read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert imported <= {"__future__", "typing"}, imported


def test_the_wire_types_are_imported_for_type_checking_only() -> None:
    unguarded = []
    for path in [*(ROOT / "sandbox").rglob("*.py"), *(ROOT / "codesolve").rglob("*.py")]:
        tree = ast.parse(path.read_text())
        guarded = {
            id(sub)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
            for sub in ast.walk(node)
        }
        unguarded += [
            f"{path.relative_to(ROOT)}:{node.lineno}"
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == "sandbox.runtime.wire" and id(node) not in guarded
        ]
    assert unguarded == []


class Recorded(DriverStream):
    """The real stream, keeping every event it accepted."""

    seen: list[dict[str, Any]] = []  # noqa: RUF012  # shared on purpose: one list per test run

    def feed_line(self, line: str | bytes) -> None:
        before = len(self.events)
        super().feed_line(line)
        Recorded.seen.extend(dict(e) for e in self.events[before:])


async def test_a_real_driver_writes_only_what_the_types_describe(
    local_box: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    Recorded.seen = []
    monkeypatch.setattr(sandbox._local, "DriverStream", Recorded)
    limits = Limits(cpu_seconds=5)
    square = Program.single("python", "def f(x):\n    return x * x\n", function="f")
    calls = [TestCase(call_args="[3]", expected="9"), TestCase(call_args="[2]", expected="5")]
    got = await local_box.run_tests(square, calls, limits, CheckerSpec(kind="value"))
    assert [o.verdict for o in got] == [Verdict.AC, Verdict.WA]
    broken = Program.single("cpp", "int main() { return x; }\n")
    [ce] = await local_box.run_tests(broken, [TestCase(stdin="")], limits)
    assert ce.verdict is Verdict.CE
    ran = await local_box.exec(["sh", "-c", "echo hi > out.txt"], limits=limits, collect=["out.txt"])
    assert ran.files == {"out.txt": b"hi\n"}

    kinds = {e["event"] for e in Recorded.seen}
    assert {"test", "exec", "tests", "hello"} <= kinds, kinds
    for event in Recorded.seen:
        described = set(KINDS[event["event"]].__annotations__) | {"nonce"}
        assert set(event) <= described, (event["event"], set(event) - described)
    for event in (e for e in Recorded.seen if e["event"] == "test"):
        assert {"name", "verdict", "message"} <= set(event)  # what the host reads without a default
    for event in (e for e in Recorded.seen if e["event"] == "exec"):
        assert set(wire.ExecEvent.__annotations__) <= set(event)  # every field of a command's report

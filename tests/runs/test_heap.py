"""The start-up heap is frozen once per process, before the first event loop."""

from __future__ import annotations

import subprocess
import sys


def test_the_first_call_freezes_the_startup_heap_and_later_calls_do_nothing() -> None:
    # In a fresh interpreter: a test session's own process may have called it already.
    probe = (
        "import gc\n"
        "from codesolve.runs.heap import freeze_startup_heap\n"
        "assert gc.get_freeze_count() == 0\n"
        "freeze_startup_heap()\n"
        "frozen = gc.get_freeze_count()\n"
        "assert frozen > 10_000, frozen  # the imported modules' objects\n"
        "garbage = [[] for _ in range(1000)]\n"
        "freeze_startup_heap()\n"
        "assert gc.get_freeze_count() == frozen  # what came later stays collectable\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.strip() == "ok"


def test_the_cli_freezes_before_its_event_loop() -> None:
    probe = (
        "import gc, anyio\n"
        "from codesolve.commands.interrupt import Interrupts\n"
        "async def count() -> int:\n"
        "    return gc.get_freeze_count()\n"
        "print(Interrupts().run(count))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True).stdout
    assert int(out) > 10_000

"""Hostile model replies, before and after: what a 400 KB and a 100 MB reply cost.

Run: ``.venv/bin/python benchmarks/hostile_replies.py [--old-seconds 200]``

* Parsing: the old code-fence regex and judge-verdict regex (kept here only to
  measure them) against the line scanners that replaced them, on the shapes
  that made them blow up. The old ones run in a child process killed after
  ``--old-seconds``; a kill prints ``>`` the bound.
* Transport: the real client against the scripted loopback server sending
  a 400 KB and a 100 MB reply: wall time and peak memory growth until the
  one-line model error (the old client read the whole body, cached it and
  handed it to the regex).
"""

from __future__ import annotations

import argparse
import multiprocessing
import re
import resource
import time
from collections.abc import Callable

import anyio

from codesolve.errors import LLMError
from codesolve.llm import LLM, LLMConfig, Message, Rule, Scenario, ScriptedServer, scripted_endpoint
from codesolve.sstar.judging import parse_verdict
from codesolve.tasks.extract import fenced_blocks

OLD_FENCE = re.compile(r"^[ \t]*```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.DOTALL | re.MULTILINE)
OLD_VERDICT = re.compile(r"\b(?:answer|winner|verdict|choice)?\s*[:=]?\s*\**\s*\b([AB])\b\**\s*$", re.IGNORECASE)


def fence_bomb(size: int) -> str:
    """An opening fence, then lines that look like fences but never close one: quadratic for the regex."""
    return "```x\n" + "``` y\n" * (size // 6)


def verdict_bomb(size: int) -> str:
    """A last line of spaces between optional parts: cubic for the old verdict pattern."""
    return "answer" + " " * size + "="


def _old_fence(text: str) -> None:
    list(OLD_FENCE.finditer(text))


def _old_verdict(text: str) -> None:
    OLD_VERDICT.search(text.strip().splitlines()[-1])


def _timed_child(fn: Callable[[str], None], text: str, bound: float) -> str:
    child = multiprocessing.Process(target=fn, args=(text,))
    started = time.perf_counter()
    child.start()
    child.join(bound)
    if child.is_alive():
        child.kill()
        child.join()
        return f"> {bound:.0f} s"
    return f"{time.perf_counter() - started:.3f} s"


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def parsing(bound: float) -> None:
    """Old regexes vs the scanners."""
    print("parsing (old regex in a child process, killed at the bound | line scanner)")
    for label, size in (("400 KB", 400_000), ("100 MB", 100_000_000)):
        text = fence_bomb(size)
        old = _timed_child(_old_fence, text, bound) if size <= 1_000_000 else "not run (hours)"
        new = _timed(lambda text=text: fenced_blocks(text))  # type: ignore[misc]
        print(f"  code fences, {label:7}  old {old:>12}   new {new:.3f} s")
    for size in (1_500, 400_000):
        text = verdict_bomb(size)
        old = _timed_child(_old_verdict, text, bound) if size <= 2_000 else "not run"
        new = _timed(lambda text=text: parse_verdict(text))  # type: ignore[misc]
        print(f"  judge verdict, {size:>7} spaces  old {old:>12}   new {new:.4f} s")


async def _reply(rule: Rule) -> tuple[str, float, float]:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with ScriptedServer(Scenario(rules=[rule])) as srv:
        config = LLMConfig(default=scripted_endpoint(srv, max_retries=0, timeout_s=30))
        async with LLM(config, env=srv.env) as llm:
            started = time.perf_counter()
            try:
                await llm.complete("generator", [Message.user("x")], temperature=0, max_tokens=4096, phase="gen")
                outcome = "accepted"
            except LLMError as exc:
                outcome = str(exc).split(": ", 1)[-1][:70]
            elapsed = time.perf_counter() - started
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
    return outcome, elapsed, grown


def transport() -> None:
    """The real client against oversized replies (max_tokens 4096: a cap of about 196 KiB)."""
    print("transport (real openai client, scripted loopback server, max_tokens=4096)")
    for label, rule in (
        ("400 KB, Content-Length", Rule(content=fence_bomb(400_000))),
        ("100 MB, streamed", Rule(content="A" * 1000, repeat=100_000)),
    ):
        outcome, elapsed, grown = anyio.run(_reply, rule)
        print(f"  {label:24} {elapsed:6.3f} s  peak RSS +{grown:5.0f} MB  {outcome}")


def main() -> None:
    """Print both tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--old-seconds", type=float, default=200.0, help="bound on each old-regex run")
    args = parser.parse_args()
    transport()
    parsing(args.old_seconds)


if __name__ == "__main__":
    main()

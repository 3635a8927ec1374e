"""Live progress of a batch: a rich display on a terminal, plain timestamped lines elsewhere.

Both read the same :class:`Gauges`: problems done, failed and total, problems
and candidates in flight, the named limits in use (model calls per endpoint,
sandbox slots, Docker API threads), tokens and cost so far, and an ETA. On a
cluster there is no local model client or sandbox: the spend is summed from
the finished problems, and each node shows its lanes, slots and throughput.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

import anyio

from codesolve.llm import LLM
from codesolve.runs.records import ProblemRow
from codesolve.tasks import Item


def _limiter_use(limiter: object) -> tuple[int, int] | None:
    if isinstance(limiter, anyio.CapacityLimiter):
        return int(limiter.borrowed_tokens), int(limiter.total_tokens)
    return None


@dataclass
class Gauges:
    """What the displays show, updated by the batch as it goes."""

    llm: LLM | None
    """The local model client (None on a cluster)."""
    box: Any
    n: int
    """Candidates per problem (for candidates in flight)."""
    total: int | None = None
    """Problems to do in this session, when known up front."""
    done: int = 0
    failed: int = 0
    in_flight: set[str] = field(default_factory=set)
    began: float = field(default_factory=time.monotonic)
    nodes: Callable[[], list[str]] | None = None
    """One line per cluster node, when the batch runs on one."""
    tokens: int = 0
    cost_usd: float | None = 0.0
    """Summed from finished problems (the spend shown on a cluster)."""

    def count(self, row: ProblemRow) -> None:
        """A problem finished."""
        self.in_flight.discard(row.id)
        if row.status == "done":
            self.done += 1
        else:
            self.failed += 1
        self.tokens += row.tokens
        self.cost_usd = None if self.cost_usd is None or row.cost_usd is None else self.cost_usd + row.cost_usd

    def limits(self) -> dict[str, tuple[int, int]]:
        """Named limits: in use and capacity."""
        found: dict[str, tuple[int, int]] = {}
        for name, limiter in (self.llm.limiters if self.llm is not None else {}).items():
            use = _limiter_use(limiter)
            if use is not None:
                found[name] = use
        sandbox = _limiter_use(getattr(self.box, "slots", None))
        if sandbox is not None:
            found["sandbox slots"] = sandbox
        docker = _limiter_use(getattr(getattr(self.box, "engine", None), "limiter", None))
        if docker is not None:
            found["docker API threads"] = docker
        return found

    def spend(self) -> str:
        """Tokens and dollars so far (``$?`` when some model has no price)."""
        if self.llm is None:
            tokens, cost = self.tokens, self.cost_usd
        else:
            tokens, cost = self.llm.usage.total.total_tokens, self.llm.usage.total.cost_usd
        return f"{tokens} tokens, " + ("$?" if cost is None else f"${cost:.4f}")

    def eta(self) -> str:
        """Time left at the pace so far, when the total is known."""
        finished = self.done + self.failed
        if self.total is None or finished == 0:
            return "?"
        left = max(self.total - finished, 0) * (time.monotonic() - self.began) / finished
        return f"{left:.0f}s"

    def counts(self) -> str:
        """``done 3, failed 1 of 10``."""
        of = "?" if self.total is None else str(self.total)
        return f"done {self.done}, failed {self.failed} of {of}"


def printable(text: str, limit: int = 200) -> str:
    """Untrusted text (ids, reasons from problem files) made safe for a terminal: no control characters."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in text)
    return clean if len(clean) <= limit else clean[:limit] + "…"


def _stamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


class PlainProgress:
    """One timestamped line per finished problem (CI logs, files)."""

    def __init__(self, gauges: Gauges, out: TextIO) -> None:
        """Write to ``out``."""
        self.g = gauges
        self.out = out
        self.held: str | None = None

    def hold(self, line: str) -> None:
        """A note printed later: by :meth:`release`, or before anything else is printed."""
        self.held = line

    def release(self) -> None:
        """Print the held note, if any."""
        line, self.held = self.held, None
        if line is not None:
            self.note(line)

    def started(self, item: Item) -> None:
        """A problem began."""
        self.g.in_flight.add(item.id)

    def finished(self, row: ProblemRow) -> None:
        """Print the problem's line."""
        self.release()
        self.g.count(row)
        what = row.status.upper() + (f" ({printable(row.reason)})" if row.reason else "")
        line = f"{_stamp()} [{self.g.counts()}] {printable(row.id)}: {what}; {row.tokens} tokens, {row.wall_s:.1f}s"
        print(f"{line}; total {self.g.spend()}, eta {self.g.eta()}", file=self.out, flush=True)
        done = self.g.done + self.g.failed
        if self.g.nodes is not None and done % 10 == 0:  # a cluster's nodes, every tenth problem
            for node in self.g.nodes():
                self.note(f"  node {node}")

    def note(self, line: str) -> None:
        """Print a message."""
        self.release()
        print(f"{_stamp()} {printable(line, 1000)}", file=self.out, flush=True)

    async def run(self) -> None:
        """Nothing to refresh."""
        await anyio.sleep_forever()

    def close(self) -> None:
        """Nothing to tear down."""


class RichProgress(PlainProgress):
    """A live panel refreshed twice a second, finished problems scrolling above it."""

    def __init__(self, gauges: Gauges, out: TextIO) -> None:
        """Draw on ``out`` (a terminal)."""
        from rich.console import Console  # lazy: only terminals pay for rich
        from rich.live import Live

        super().__init__(gauges, out)
        self.console = Console(file=out)
        self.live = Live(self._panel(), console=self.console, auto_refresh=False, transient=True)
        self.live.start()

    def _panel(self) -> Any:
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        g = self.g
        table.add_row("problems", g.counts(), "in flight", f"{len(g.in_flight)} ({len(g.in_flight) * g.n} candidates)")
        for name, (used, cap) in g.limits().items():
            table.add_row("", "", name, f"{used}/{cap}")
        for node in g.nodes() if g.nodes is not None else []:
            table.add_row("node", node, "", "")
        table.add_row("spend", g.spend(), "eta", g.eta())
        return table

    def finished(self, row: ProblemRow) -> None:
        """Count it and print its line above the panel."""
        self.release()
        self.g.count(row)
        from rich.markup import escape

        colour = "green" if row.status == "done" else "red"
        reason = f" ({printable(row.reason)})" if row.reason else ""
        text = escape(f"{printable(row.id)}{reason}")
        self.console.print(f"[{colour}]{row.status}[/] {text}", markup=True, highlight=False)
        self.refresh()

    def note(self, line: str) -> None:
        """Print a message above the panel."""
        self.release()
        self.console.print(printable(line, 1000), markup=False, highlight=False)

    def refresh(self) -> None:
        """Redraw the panel."""
        self.live.update(self._panel(), refresh=True)

    async def run(self) -> None:
        """Redraw twice a second until cancelled."""
        while True:
            self.refresh()
            await anyio.sleep(0.5)

    def close(self) -> None:
        """Stop the live display."""
        self.live.stop()

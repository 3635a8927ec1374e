"""SWE batches on the batch runner: instances are batch items, solved by :class:`SweLane` lanes.

:func:`run_swe` is :func:`codesolve.runs.batch.run_batch` with SWE lanes: the
same SQLite store (one writer, a problem's rows in one transaction), resume
(a finished instance is never redone; one in flight when the run was killed
is), progress display and tally. Instances are solved ``concurrency`` at a
time; their sandboxes share one slot limit and the lanes one model client.
:func:`grade_pending` is ``codesolve eval`` on a SWE run: every finished
instance without a grade (a ``--no-grade`` session) is graded from its stored
patch. Both end by rewriting the harness-format exports.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import anyio

from codesolve.llm import LLM
from codesolve.runs.batch import Batch, Observer, Selection, Tally, run_batch
from codesolve.runs.evalrun import EvalTally, Notify, evaluate_run
from codesolve.runs.records import EvalResult
from codesolve.runs.store import RunStore, unpack
from codesolve.runs.swe import SweSettings, grade_instance
from codesolve.runs.swe_lane import PatchSource, SharedSlots, SweLane, grade_evaluation
from codesolve.runs.swe_report import export
from codesolve.runs.traces import selection_of
from codesolve.sstar import EngineConfig
from codesolve.tasks import Item
from codesolve.tasks.models import SweInstance
from sandbox import Sandbox


@dataclass
class SweJob:
    """One SWE batch session: where it is stored, where repositories are, what makes the patches."""

    store: RunStore
    settings: SweSettings
    patches: PatchSource
    grading: bool = True
    concurrency: int = 1
    pool_size: int = 1
    """Sandbox runs at once across every instance (the shared slot limit)."""
    llm: LLM | None = None
    engine_config: EngineConfig | None = None
    slots: anyio.CapacityLimiter = field(init=False)
    """The limit every instance's sandbox runs share (the progress display shows it)."""

    def __post_init__(self) -> None:
        self.slots = anyio.CapacityLimiter(max(self.pool_size, 1))


async def run_swe(
    job: SweJob, items: Iterator[Item], which: Selection, observer: Observer, stop: anyio.Event | None = None
) -> Tally:
    """Solve (and grade) the selected instances not finished yet; grade what earlier sessions left; export."""
    lane = SweLane(job.settings, job.patches, job.slots, job.grading, job.llm)
    batch = Batch(job.store, job.llm, None, job.engine_config or EngineConfig(), observer)
    tally = await run_batch(batch, items, which, job.concurrency, stop, [lane] * max(job.concurrency, 1))
    if job.grading and not tally.interrupted:
        await grade_pending(job.store, job.settings, job.concurrency, lambda _line: None, stop, job.slots)
    export(job.store)
    return tally


async def grade_pending(
    store: RunStore,
    settings: SweSettings,
    concurrency: int,
    note: Notify,
    stop: anyio.Event | None = None,
    slots: anyio.CapacityLimiter | None = None,
) -> EvalTally:
    """Grade every finished instance that has a stored patch and no grade yet."""
    shared = slots or anyio.CapacityLimiter(max(concurrency, 1))

    def wrap(box: Sandbox) -> Sandbox:
        return SharedSlots(box, shared)

    async def evaluate(pid: str) -> EvalResult:
        with store.read() as db:
            blob = db.execute("SELECT problem FROM problems WHERE id = ?", (pid,)).fetchone()[0]
            selection = selection_of(db, pid)
        if selection is None or selection.patch is None:
            return EvalResult(problem=pid, runs=[], targets=[], error="no patch was stored for it")
        instance = SweInstance.model_validate_json(unpack(blob))
        started = anyio.current_time()
        graded = await grade_instance(instance, settings, selection.patch, wrap)
        return grade_evaluation(graded, anyio.current_time() - started)

    tally = await evaluate_run(store, None, concurrency, note, stop, evaluate)
    export(store)
    return tally

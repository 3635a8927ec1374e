"""The process's heap before a long run: what start-up built is set aside from garbage collection."""

from __future__ import annotations

import functools
import gc


@functools.cache  # (once per process)
def freeze_startup_heap() -> None:
    """Collect once, then move every object alive now out of the collector's sight (``gc.freeze``).

    What start-up built (the modules of pydantic, openai, docker, hypothesis…: ~100,000 objects)
    lives as long as the process and is never garbage, yet every full collection walked all of it
    on the event loop: 20–50 ms at a time, once every few solves, wherever it fell (once right after
    the generation replies, on the engine's critical path). Only the first call of a process does
    it, before its first event loop: objects made later are collected as usual (a process that
    runs several commands, a test session, does not freeze each one's leftovers).
    """
    gc.collect()
    gc.freeze()

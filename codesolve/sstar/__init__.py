"""The S* algorithm: generation, debugging, input synthesis and grounded selection.

Written once for every kind of :class:`Task`; see :mod:`codesolve.sstar.engine`.
"""

from codesolve.sstar.config import Budget, EngineConfig, Selector
from codesolve.sstar.engine import Engine, Progress
from codesolve.sstar.trace import Solution, StopKind, StopReason, Trace, TraceEvent
from codesolve.tasks.base import Behaviour, DebugTurn, Extracted, SynthInput, Task, TestReport

__all__ = [
    "Behaviour",
    "Budget",
    "DebugTurn",
    "Engine",
    "EngineConfig",
    "Extracted",
    "Progress",
    "Selector",
    "Solution",
    "StopKind",
    "StopReason",
    "SynthInput",
    "Task",
    "TestReport",
    "Trace",
    "TraceEvent",
]

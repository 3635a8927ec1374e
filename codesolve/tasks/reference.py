"""What only evaluation and the judge use: a dataset's own solutions and its time-limit rule.

Neither is part of :class:`codesolve.tasks.PublicProblem`, the view the solver gets.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from codesolve.tasks._model import FrozenModel


class ReferenceSolution(FrozenModel):
    """A solution the dataset ships, kept so that the judge itself can be checked."""

    language: str = "python"
    """Language name as the sandbox knows it (``python``, ``cpp``…) or the dataset's own."""
    code: str
    """Complete source (for call problems: a module defining the function)."""
    label: Literal["correct", "incorrect", "buggy", "reference"]
    """``reference`` and ``correct`` should pass every test; ``incorrect`` and ``buggy`` should not."""
    origin: str = ""
    """Which dataset field it came from."""


class TimeLimitRule(FrozenModel):
    """problemtools' rule for a package that states no time limit: a multiple of the slowest
    accepted submission's CPU time, rounded (see :meth:`apply`)."""

    multiplier: float = Field(gt=0, allow_inf_nan=False)
    """``limits.time_multiplier`` (legacy format, default 5) or ``ac_to_time_limit`` (2023-07, default 2)."""
    resolution: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    """2023-07 ``limits.time_resolution``: the limit is rounded up to a multiple of it."""
    legacy: bool = True
    """Legacy rounding: ``max(1, int(0.5 + slowest * multiplier))`` seconds."""

    def apply(self, slowest: float) -> float:
        """The time limit for a slowest accepted run of ``slowest`` CPU seconds."""
        exact = slowest * self.multiplier
        if self.legacy:
            return float(max(1, int(0.5 + exact)))
        steps = max(1, -(-round(exact / self.resolution, 9) // 1))
        return float(steps * self.resolution)

    def describe(self) -> str:
        """The rule in words."""
        rounding = "rounded, at least 1 s" if self.legacy else f"rounded up to {self.resolution:g} s"
        return f"{self.multiplier:g} x the slowest accepted submission, {rounding} (problemtools)"

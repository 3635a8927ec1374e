"""Running the engine on problems: one at a time now; batches, the store and evaluation build on it."""

from codesolve.runs.single import SolveResult, solve_one, summary_lines

__all__ = ["SolveResult", "solve_one", "summary_lines"]

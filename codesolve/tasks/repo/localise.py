"""Which functions to fix: spectrum-based fault localisation over the tests' function spectra.

The choice, and why:

* **The unit is a function**, because a candidate is a new version of a
  function. Spectra are the repo functions each test called (nested functions,
  lambdas and comprehensions count as the function holding them).
* **Ochiai** (``ef / sqrt(F * (ef + ep))``) ranks them: in the SBFL studies
  (Abreu et al. 2007; Wong et al.'s survey) it is the formula that does best
  with the few failing tests a user names, and unlike Tarantula it does not
  rate a function run by one failing and no passing test as high as one run
  by every failing test.
* **Each failing test names its own suspect**, ranked by Ochiai computed for
  that test alone (``1 / sqrt(1 + ep)``), then by the global Ochiai. Global
  Ochiai alone breaks on two faults: a shared caller run by both failing tests
  outranks each fault. Per-test winners name two functions when two are
  implicated, and one when every failing test points at the same one.
* **Lines break ties between functions.** A wrong value often comes from a
  branch only the failing test takes, inside a function the passing tests call
  as well (a cart's line total, right for bulk orders, wrong for single
  items, and ``Cart.add`` run by exactly the same tests). Each test's lines
  run in each function are recorded too; a function's line score is the best
  Ochiai of its lines, and it decides between functions the function-level
  scores tie. It only breaks ties: on its own, the caller's line that calls
  the faulty function is as exclusive to the failing test as the fault.
* **Tracebacks are a strong extra signal**: a function with a frame in a
  failing test's traceback gets ``TRACEBACK_WEIGHT`` on top for that test. A
  wrong value usually fails an assertion in the test with no frame of the
  buggy function, which is why the spectra come first.
* **Ties go to the shallower function** (fewer calls below the test): when
  the spectra cannot tell functions apart they carry no information, and the
  function the test calls itself is the test's subject; deeper ones are
  shared machinery (flask-4045: ``Blueprint.__init__``, not the helpers every
  passing test runs as well). A wrong value made deeper shows in the spectra
  whenever a passing test runs the caller without the faulty callee.
* **A tie between sibling callees goes to their common caller**: when several
  helpers tie because only failing inputs reach them, one fault explains them
  all only in the caller that decides to call them (QuixBugs'
  ``shortest_path_length`` and its ``get`` / ``insert_or_update``).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass

TRACEBACK_WEIGHT = 0.5
MAX_TARGETS = 3
_FRAME = re.compile(r"^(?P<path>[^\s:][^:\n]*\.py):\d+: in (?P<name>[\w<>]+)", re.MULTILINE)


@dataclass(frozen=True)
class Suspect:
    """One function with its spectrum counts and scores."""

    key: str
    """``path/to/module.py::Qualname`` (the outermost function)."""
    ef: int
    ep: int
    ochiai: float
    depth: int
    in_traceback: int
    """Failing tests whose traceback has a frame of this function."""
    line_ochiai: float = 0.0
    """The best Ochiai of its lines (its function-level Ochiai when no lines were recorded)."""
    line: int = 0
    """That line (0 when no lines were recorded)."""
    line_ep: int = 0
    """Passing tests that ran that line."""

    @property
    def target(self) -> str:
        """``package.module:Qualname``: the ``--function`` form."""
        path, _, qualname = self.key.partition("::")
        module = path[:-3] if path.endswith(".py") else path
        module = module.removesuffix("/__init__").removeprefix("src/")
        return f"{module.replace('/', '.')}:{qualname}"


@dataclass(frozen=True)
class Localisation:
    """The ranking, and the functions chosen as the fix's targets."""

    ranking: tuple[Suspect, ...]
    targets: tuple[Suspect, ...]
    failing: int
    passing: int
    why: tuple[str, ...] = ()
    """One line per target (same order): the failing tests it explains and the evidence."""


def outer(key: str) -> str:
    """The function that holds a nested function, lambda or comprehension."""
    path, _, qualname = key.partition("::")
    return f"{path}::{qualname.split('.<locals>', 1)[0]}"


def is_test_file(path: str) -> bool:
    """Test modules and conftest files are never suspects."""
    name = path.rsplit("/", 1)[-1]
    return name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py")


@dataclass(frozen=True)
class Spectrum:
    """One test's spectrum at the function level: call depth and first caller of each function."""

    depth: Mapping[str, int]
    parent: Mapping[str, str]

    def __iter__(self) -> Iterator[str]:
        return iter(self.depth)

    def get(self, key: str, default: int) -> int:
        """The depth of ``key`` (``default`` when not run)."""
        return self.depth.get(key, default)


def collapse(calls: Mapping[str, str]) -> Spectrum:
    """A test's spectrum at the function level: each outer function, its call depth and caller."""
    parent = {outer(k): outer(v) if v else "" for k, v in reversed(list(calls.items()))}
    depth: dict[str, int] = {}
    for key in parent:
        _settle_depths(key, parent, depth)
    kept = {k: d for k, d in depth.items() if not is_test_file(k.partition("::")[0])}
    return Spectrum(kept, {k: parent[k] for k in kept})


def _settle_depths(start: str, parent: Mapping[str, str], depth: dict[str, int]) -> None:
    """The call depth of ``start`` and of the callers above it, walked up iteratively: a function
    with no caller, its own caller, a caller already on the walk or one the test did not run is
    at depth 1, and each below it one deeper. (Recursion ran out of stack at a chain of ~1,000
    callers, which code under test can write into its spectrum, and copied the walk's set at
    every step.)"""
    chain: list[str] = []
    on_chain: set[str] = set()
    key = start
    while key not in depth:
        chain.append(key)
        on_chain.add(key)
        up = parent.get(key, "")
        if not up or up in on_chain or up not in parent:
            depth[chain.pop()] = 1
            break
        key = up
    below = depth[key]  # (the one the walk stopped at: known before, or a top just settled)
    for each in reversed(chain):
        below += 1
        depth[each] = below


def traceback_functions(details: str) -> set[tuple[str, str]]:
    """``(path, function name)`` of every repo frame in pytest's short traceback."""
    return {(m["path"], m["name"]) for m in _FRAME.finditer(details) if not m["path"].startswith("/")}


def _hit(key: str, frames: set[tuple[str, str]]) -> bool:
    path, _, qualname = key.partition("::")
    return any(p == path and n in qualname.split(".") for p, n in frames)


def localise(
    spectra: Mapping[str, Mapping[str, str]],
    failing: Sequence[str],
    passing: Sequence[str],
    tracebacks: Mapping[str, str] | None = None,
    lines: Mapping[str, Mapping[str, Collection[int]]] | None = None,
) -> Localisation:
    """Rank the functions the tests ran and choose the targets (see the module docstring).

    ``lines``: per test, the lines of each function (raw ``path::qualname`` keys) its call ran.
    """
    runs = {t: collapse(spectra.get(t, {})) for t in [*failing, *passing]}
    frames = {t: traceback_functions((tracebacks or {}).get(t, "")) for t in failing}
    ef: Counter[str] = Counter(k for t in failing for k in runs[t])
    ep: Counter[str] = Counter(k for t in passing for k in runs[t])
    depth = {k: min(runs[t].depth[k] for t in runs if k in runs[t].depth) for k in ef}
    total_failing = max(len(failing), 1)
    by_line = LineSpectra(lines or {}, failing, passing)
    suspects = {}
    for k in ef:
        ochiai = ef[k] / math.sqrt(total_failing * (ef[k] + ep[k]))
        line, line_ochiai, line_ep = by_line.best(k, total_failing) or (0, ochiai, ep[k])
        suspects[k] = Suspect(
            key=k,
            ef=ef[k],
            ep=ep[k],
            ochiai=ochiai,
            depth=depth[k],
            in_traceback=sum(1 for t in failing if _hit(k, frames[t])),
            line_ochiai=line_ochiai,
            line=line,
            line_ep=line_ep,
        )
    ranking = sorted(
        suspects.values(),
        key=lambda s: (-(s.ochiai + _tb_bonus(s, total_failing)), -s.line_ochiai, s.depth, s.key),
    )
    wins: dict[str, list[str]] = {}
    siblings: dict[str, set[str]] = {}
    for test in failing:
        ran = [suspects[k] for k in runs[test]]
        if ran:
            local_lines = {s.key: by_line.local(test, s.key, s.ep) for s in ran}
            key, tied = _winner(ran, runs[test], frames[test], local_lines)
            wins.setdefault(key, []).append(test)
            siblings.setdefault(key, set()).update(tied)
    chosen = sorted(wins, key=lambda k: (-len(wins[k]), ranking.index(suspects[k])))[:MAX_TARGETS]
    why = tuple(_explain(suspects[k], wins[k], siblings[k], len(failing), len(passing)) for k in chosen)
    return Localisation(tuple(ranking), tuple(suspects[k] for k in chosen), len(failing), len(passing), why)


class LineSpectra:
    """Line-level counts: which failing and passing tests ran each line of each (outer) function."""

    def __init__(
        self, lines: Mapping[str, Mapping[str, Collection[int]]], failing: Sequence[str], passing: Sequence[str]
    ) -> None:
        self.ran = {t: self._fold(lines.get(t, {})) for t in [*failing, *passing]}
        self.ef = self._count(failing)
        self.ep = self._count(passing)
        self.failed_lines: dict[str, set[int]] = {}
        for key, line in self.ef:
            self.failed_lines.setdefault(key, set()).add(line)

    def _count(self, tests: Sequence[str]) -> Counter[tuple[str, int]]:
        return Counter((k, n) for t in tests for k, numbers in self.ran[t].items() for n in numbers)

    @staticmethod
    def _fold(ran: Mapping[str, Collection[int]]) -> dict[str, set[int]]:
        folded: dict[str, set[int]] = {}
        for key, numbers in ran.items():
            folded.setdefault(outer(key), set()).update(numbers)
        return folded

    def best(self, key: str, total_failing: int) -> tuple[int, float, int] | None:
        """The function's most suspicious line: (line, its Ochiai, passing tests that ran it)."""
        scored = []
        for line in self.failed_lines.get(key, ()):
            ef, ep = self.ef[(key, line)], self.ep[(key, line)]
            scored.append((ef / math.sqrt(total_failing * (ef + ep)), -line, line, ep))
        if not scored:
            return None
        score, _, line, ep = max(scored)
        return line, score, ep

    def local(self, test: str, key: str, function_ep: int) -> float:
        """Ochiai for ``test`` alone of the best line of ``key`` it ran (function-level without lines)."""
        eps = [self.ep[(key, n)] for n in self.ran[test].get(key, ())]
        return 1 / math.sqrt(1 + min(eps, default=function_ep))


def _winner(
    ran: list[Suspect], spectrum: Spectrum, frames: set[tuple[str, str]], local_lines: Mapping[str, float]
) -> tuple[str, list[str]]:
    """The test's suspect, and the tied siblings it stands for when it is their common caller."""
    keys = {s.key: _per_test_key(s, _hit(s.key, frames), local_lines[s.key]) for s in ran}
    best = min(ran, key=lambda s: keys[s.key])
    tied = [s.key for s in ran if keys[s.key][:3] == keys[best.key][:3]]
    callers = {spectrum.parent.get(k, "") for k in tied}
    if len(tied) > 1 and len(callers) == 1:
        [caller] = callers
        if caller and caller in spectrum.depth and caller not in tied:
            return caller, tied
    return best.key, []


def _explain(s: Suspect, tests: Sequence[str], siblings: set[str], failing: int, passing: int) -> str:
    """Why ``s`` is a target, in one line a user can check against the ranking."""
    named = ", ".join(t.rsplit("::", 1)[-1] for t in tests[:3]) + (", …" if len(tests) > 3 else "")
    callees = ", ".join(sorted(k.partition("::")[2] for k in siblings))
    rule = f"the caller of {callees}, which the spectra cannot tell apart" if siblings else "the top suspect"
    evidence = (
        f"in the traceback of {s.in_traceback} failing test(s)"
        if s.in_traceback
        else "in no traceback (a wrong value, found by the spectra alone)"
    )
    line = f" (its line {s.line}: {s.line_ep}/{passing} passing)" if s.line else ""
    return (
        f"{s.target}: {rule} of {len(tests)} failing test(s) ({named}); run by {s.ef}/{failing} failing "
        f"and {s.ep}/{passing} passing tests{line}, Ochiai {s.ochiai:.3f}; {evidence}"
    )


def _tb_bonus(s: Suspect, failing: int) -> float:
    return TRACEBACK_WEIGHT * s.in_traceback / failing


def _per_test_key(s: Suspect, in_traceback: bool, local_line: float) -> tuple[float, float, float, float, int, str]:
    local = 1 / math.sqrt(1 + s.ep) + (TRACEBACK_WEIGHT if in_traceback else 0.0)
    return (-local, -local_line, -s.ochiai, -s.line_ochiai, s.depth, s.key)

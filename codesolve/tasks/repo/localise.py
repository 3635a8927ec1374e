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
* **Tracebacks are a strong extra signal**: a function with a frame in a
  failing test's traceback gets ``TRACEBACK_WEIGHT`` on top for that test. A
  wrong value usually fails an assertion in the test with no frame of the
  buggy function, which is why the spectra come first.
* **Ties go to the deeper function** (more calls below the test): a wrong
  value is made below and handed up, so among functions the passing tests
  cannot tell apart the callee is the likelier origin.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
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

    @property
    def target(self) -> str:
        """``package.module:Qualname``: the ``--function`` form."""
        path, _, qualname = self.key.partition("::")
        module = path[:-3] if path.endswith(".py") else path
        module = module.removesuffix("/__init__")
        return f"{module.replace('/', '.')}:{qualname}"


@dataclass(frozen=True)
class Localisation:
    """The ranking, and the functions chosen as the fix's targets."""

    ranking: tuple[Suspect, ...]
    targets: tuple[Suspect, ...]
    failing: int
    passing: int


def outer(key: str) -> str:
    """The function that holds a nested function, lambda or comprehension."""
    path, _, qualname = key.partition("::")
    return f"{path}::{qualname.split('.<locals>', 1)[0]}"


def is_test_file(path: str) -> bool:
    """Test modules and conftest files are never suspects."""
    name = path.rsplit("/", 1)[-1]
    return name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py")


def collapse(calls: Mapping[str, str]) -> dict[str, int]:
    """A test's spectrum at the function level: each outer function and its call depth."""
    parent = {outer(k): outer(v) if v else "" for k, v in reversed(list(calls.items()))}
    depth: dict[str, int] = {}

    def depth_of(key: str, seen: frozenset[str]) -> int:
        if key in depth:
            return depth[key]
        up = parent.get(key, "")
        d = 1 if not up or up == key or up in seen else depth_of(up, seen | {key}) + 1
        depth[key] = d
        return d

    for key in parent:
        depth_of(key, frozenset())
    return {k: d for k, d in depth.items() if not is_test_file(k.partition("::")[0])}


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
) -> Localisation:
    """Rank the functions the tests ran and choose the targets (see the module docstring)."""
    runs = {t: collapse(spectra.get(t, {})) for t in [*failing, *passing]}
    frames = {t: traceback_functions((tracebacks or {}).get(t, "")) for t in failing}
    ef: Counter[str] = Counter(k for t in failing for k in runs[t])
    ep: Counter[str] = Counter(k for t in passing for k in runs[t])
    depth = {k: max(runs[t].get(k, 0) for t in runs) for k in ef}
    total_failing = max(len(failing), 1)
    suspects = {
        k: Suspect(
            key=k,
            ef=ef[k],
            ep=ep[k],
            ochiai=ef[k] / math.sqrt(total_failing * (ef[k] + ep[k])),
            depth=depth[k],
            in_traceback=sum(1 for t in failing if _hit(k, frames[t])),
        )
        for k in ef
    }
    ranking = sorted(suspects.values(), key=lambda s: (-(s.ochiai + _tb_bonus(s, total_failing)), -s.depth, s.key))
    wins: Counter[str] = Counter()
    for test in failing:
        ran = [suspects[k] for k in runs[test]]
        if ran:
            best = min(ran, key=lambda s: _per_test_key(s, _hit(s.key, frames[test])))
            wins[best.key] += 1
    chosen = sorted(wins, key=lambda k: (-wins[k], ranking.index(suspects[k])))[:MAX_TARGETS]
    return Localisation(tuple(ranking), tuple(suspects[k] for k in chosen), len(failing), len(passing))


def _tb_bonus(s: Suspect, failing: int) -> float:
    return TRACEBACK_WEIGHT * s.in_traceback / failing


def _per_test_key(s: Suspect, in_traceback: bool) -> tuple[float, float, int, str]:
    local = 1 / math.sqrt(1 + s.ep) + (TRACEBACK_WEIGHT if in_traceback else 0.0)
    return (-local, -s.ochiai, -s.depth, s.key)

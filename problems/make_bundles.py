"""Cut the bundled problem sets in ``problems/`` from the shared data, reproducibly.

Run from the repository root (needs ``../shared/data``)::

    .venv/bin/python problems/make_bundles.py

Every cut is deterministic: problems are taken in the dataset's id order,
filtered by the rules in each function below, and written as codesolve JSONL
(gzipped with a fixed timestamp, so the same data gives the same bytes).
``problems/examples`` is written by hand and is not touched here.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))  # run as a plain script from a checkout

from codesolve.tasks import CompetitiveProblem, dump_problems, dumps_jsonl, load_problems  # noqa: E402

OUT_NAME = "problems.jsonl.gz"
APPS_MISREAD = {"3766", "3836"}
"""Call-based APPS problems whose mixed-type inputs the MapCoder-layout heuristic reads wrongly."""
FUNCTION_ERRATA = {"HumanEval/47", "HumanEval/116", "HumanEval/148", "Mbpp/164", "Mbpp/295"}
"""Problems whose docstring examples or asserts disagree with the canonical solution."""
MBPP_PLUS_CAP = 30
"""MBPP+ plus inputs kept per problem (the full pre-release has up to thousands)."""


def _competitive(path: str) -> list[CompetitiveProblem]:
    return [p for p in load_problems(DATA / path) if isinstance(p, CompetitiveProblem)]


def _size(problem: CompetitiveProblem) -> int:
    return len(dumps_jsonl([problem]))


Keep = Callable[[CompetitiveProblem], bool]


def _first(problems: Iterable[CompetitiveProblem], count: int, keep: Keep) -> list[CompetitiveProblem]:
    chosen = [p for p in problems if keep(p)][:count]
    if len(chosen) < count:
        raise SystemExit(f"only {len(chosen)} problems pass the filter, wanted {count}")
    return chosen


def kickstart() -> list[CompetitiveProblem]:
    """7 integer-answer and 3 decimal-answer problems with the smallest files, all with samples."""
    decimal = re.compile(r"Case #\d+: .*\d\.\d")
    usable = [p for p in _competitive("competitive/kickstart_and_cjio.jsonl.gz") if not p.checker_missing]
    pool = sorted((p for p in usable if p.public_tests), key=lambda p: (_size(p), p.id))

    def is_decimal(p: CompetitiveProblem) -> bool:
        return any(decimal.search(t.expected or "") for t in p.hidden_tests)

    chosen = _first(pool, 7, lambda p: not is_decimal(p)) + _first(pool, 3, is_decimal)
    return sorted(chosen, key=lambda p: p.id)


def apps() -> list[CompetitiveProblem]:
    """10 stdin and 10 call-based problems, in id order, small, with samples and nothing dropped."""
    pool = sorted(_competitive("competitive/mapcoder_APPS_selected150.jsonl"), key=lambda p: int(p.id))

    def ok(p: CompetitiveProblem) -> bool:
        return p.id not in APPS_MISREAD and not p.dropped_tests and bool(p.public_tests) and _size(p) < 4000

    return _first(pool, 10, lambda p: ok(p) and p.input_mode == "stdin") + _first(
        pool, 10, lambda p: ok(p) and p.input_mode == "call"
    )


def leetcode() -> list[CompetitiveProblem]:
    """20 problems in question order whose every case and example parsed, under 20 KB each."""
    pool = _competitive("competitive/LeetCodeDataset-v0.3.1-test.jsonl.gz")
    pool.sort(key=lambda p: int(re.findall(r"question (\d+)", p.source)[0]))

    def ok(p: CompetitiveProblem) -> bool:
        return not p.dropped_tests and not p.unparsed_examples and bool(p.public_tests) and _size(p) < 20000

    return _first(pool, 20, ok)


def _task_number(problem: CompetitiveProblem) -> int:
    return int(problem.id.rsplit("/", 1)[1])


def function() -> list[CompetitiveProblem]:
    """10 HumanEval+ (plus inputs from the official Mini set) and 10 MBPP+ (plus inputs capped)."""
    mini = {p.id: p for p in _competitive("function/HumanEvalPlus-Mini-v0.1.10.jsonl.gz")}

    def ok(p: CompetitiveProblem) -> bool:
        return p.id not in FUNCTION_ERRATA and not p.unparsed_examples and bool(p.public_tests)

    humaneval = []
    for problem in sorted(_competitive("function/HumanEvalPlus-v0.1.10.jsonl.gz"), key=_task_number):
        plus = [t for t in mini[problem.id].hidden_tests if t.group == "plus"]
        hidden = [t for t in problem.hidden_tests if t.group != "plus"] + plus
        humaneval.append(problem.model_validate({**problem.model_dump(), "hidden_tests": hidden}))
    mbpp = []
    for problem in sorted(_competitive("function/MbppPlus-prerelease-767efcc.jsonl"), key=_task_number):
        plus = [t for t in problem.hidden_tests if t.group == "plus"][:MBPP_PLUS_CAP]
        hidden = [t for t in problem.hidden_tests if t.group != "plus"] + plus
        mbpp.append(problem.model_validate({**problem.model_dump(), "hidden_tests": hidden}))
    small = 6000
    return _first(humaneval, 10, lambda p: ok(p) and _size(p) < small) + _first(
        mbpp, 10, lambda p: ok(p) and _size(p) < small
    )


def quixbugs() -> list[CompetitiveProblem]:
    """All 40 programs."""
    return _competitive("bugfix/quixbugs_python_40.jsonl")


BUNDLES: dict[str, Callable[[], list[CompetitiveProblem]]] = {
    "kickstart": kickstart,
    "apps": apps,
    "leetcode": leetcode,
    "function": function,
    "quixbugs": quixbugs,
}


def main() -> None:
    """Write every bundle and print its size."""
    if not DATA.is_dir():
        raise SystemExit(f"no shared data at {DATA}")
    for name, cut in BUNDLES.items():
        problems = cut()
        out = ROOT / "problems" / name / OUT_NAME
        out.parent.mkdir(parents=True, exist_ok=True)
        dump_problems(problems, out)
        print(f"{out.relative_to(ROOT)}: {len(problems)} problems, {out.stat().st_size} bytes")


if __name__ == "__main__":
    main()

"""How often does our judge agree with independently labelled programs?

Runs the real sandbox on labelled programs and prints, per set, how many of
our verdicts agree with the labels, side by side with the goal where the
issue sets one:

* ``humaneval-samples``: real LLM programs, CodeGen-16B samples from CodeT
  (``../shared/data/samples``), labelled by running HumanEval's own tests
  (``passed``). Program = CodeT's prompt + the sample; judged on the problem's
  ``check`` test only (the labels know nothing of the docstring examples).
* ``humaneval``, ``mbpp``: the datasets' canonical solutions (label: passes),
  on their own check tests.
* ``humaneval-llm-style``, ``mbpp-llm-style`` (the first 300 MBPP problems):
  each canonical solution with what LLM programs often carry besides the
  function (:data:`TRAILERS`: a module-level ``print`` of an example call, an
  ``if __name__ == "__main__":`` demo block reading stdin, debug prints in the
  function on stdout and stderr). The reference harnesses swallow stdout and
  never run the demo block, so each is labelled "passes".
* ``leetcode``, ``quixbugs``, ``apps``: the bundled cuts in ``problems/``
  with their labelled solutions, on all their tests (the APPS cut carries
  none: it is reported as such).
* ``kattis``: the packages written for the project (``problems/kattis``),
  with their accepted and wrong submissions.

``python benchmarks/judge_agreement.py [--sets a,b] [--per-task K] [--jobs N] [--json FILE]``
(``--per-task`` caps the HumanEval samples per task: 100 is all 16,400). A
disagreement is listed with the first failing test, so it can be read as a
judge bug or as label noise.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from codesolve.runs.agreement import ProblemCheck, agreement, judge_solutions  # noqa: E402
from codesolve.runs.timelimit import settle_time_limit  # noqa: E402
from codesolve.tasks import CompetitiveProblem, load_problems  # noqa: E402
from codesolve.tasks.models import ReferenceSolution  # noqa: E402
from sandbox import DockerConfig, LocalConfig, Sandbox, open_sandbox  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
GOALS = {
    "humaneval-samples": 97.0,
    "humaneval": 97.0,
    "mbpp": 99.0,
    "humaneval-llm-style": 97.0,
    "mbpp-llm-style": 99.0,
}


def competitive(path: Path) -> list[CompetitiveProblem]:
    """The competitive problems of a file or package."""
    return [p for p in load_problems(path) if isinstance(p, CompetitiveProblem)]


def checks_only(problem: CompetitiveProblem, solutions: list[ReferenceSolution]) -> CompetitiveProblem:
    """The problem judged on its check tests only, carrying ``solutions``."""
    return problem.model_copy(
        update={
            "public_tests": [],
            "hidden_tests": [t for t in problem.hidden_tests if t.kind == "check"],
            "solutions": solutions,
        }
    )


def humaneval_samples(per_task: int) -> list[CompetitiveProblem]:
    """HumanEval problems carrying CodeT's CodeGen-16B samples, labelled by HumanEval's tests."""
    problems = {p.id: p for p in competitive(DATA / "function" / "HumanEval.jsonl.gz")}
    folder = DATA / "samples"
    samples = (folder / "codet_HumanEval_codegen16B_100samples.jsonl").read_text().splitlines()
    labels = (folder / "codet_HumanEval_codegen16B_100samples.LABELS.jsonl").read_text().splitlines()
    out = []
    for sample_line, label_line in zip(samples, labels, strict=True):
        record, label = json.loads(sample_line), json.loads(label_line)
        chosen = list(zip(record["samples"], label["passed"], strict=True))[:per_task]
        solutions = [
            ReferenceSolution(
                code=record["prompt"] + code, label="correct" if ok else "incorrect", origin=f"sample {i}"
            )
            for i, (code, ok) in enumerate(chosen)
        ]
        out.append(checks_only(problems[label["task_id"]], solutions))
    return out


def canonical(path: Path) -> list[CompetitiveProblem]:
    """Each problem with its own reference solution, on its check tests."""
    return [checks_only(p, list(p.solutions)) for p in competitive(path) if p.solutions]


TRAILERS = {
    "prints its example": "\n\nprint({entry}(*{args}))\n",
    "has a demo block": '\n\nif __name__ == "__main__":\n    line = input()\n    print({entry}(*{args}), line)\n',
    "prints while it runs": (
        "\n\nimport sys as _sys\n_plain = {entry}\n\n\ndef {entry}(*args, **kwargs):\n"
        "    print('called with', args)\n    print('debug', file=_sys.stderr)\n    return _plain(*args, **kwargs)\n"
    ),
}
"""What LLM programs often carry besides the function: the reference harnesses ignore all of it
(stdout is swallowed, a ``__main__`` block does not run), so the label stays "passes"."""


def llm_style(path: Path, limit: int) -> list[CompetitiveProblem]:
    """Each canonical solution three times, with each of :data:`TRAILERS` appended."""
    out = []
    for problem in competitive(path)[:limit]:
        calls = [t.call_args for t in problem.public_tests if t.call_args]
        if not problem.solutions or not calls or not problem.function_name:
            continue
        code = problem.solutions[0].code
        variants = [
            ReferenceSolution(
                code=code + t.format(entry=problem.function_name, args=calls[0]), label="correct", origin=k
            )
            for k, t in TRAILERS.items()
        ]
        out.append(checks_only(problem, variants))
    return out


SETS: dict[str, Callable[[int], list[CompetitiveProblem]]] = {
    "humaneval-llm-style": lambda _: llm_style(DATA / "function" / "HumanEval.jsonl.gz", 164),
    "mbpp-llm-style": lambda _: llm_style(DATA / "function" / "mbpp_full_974.jsonl", 300),
    "humaneval-samples": humaneval_samples,
    "humaneval": lambda _: canonical(DATA / "function" / "HumanEval.jsonl.gz"),
    "mbpp": lambda _: canonical(DATA / "function" / "mbpp_full_974.jsonl"),
    "leetcode": lambda _: competitive(ROOT / "problems" / "leetcode" / "problems.jsonl.gz"),
    "quixbugs": lambda _: competitive(ROOT / "problems" / "quixbugs" / "problems.jsonl.gz"),
    "apps": lambda _: competitive(ROOT / "problems" / "apps" / "problems.jsonl.gz"),
    "kattis": lambda _: [p for d in ("pairsum", "guess") for p in competitive(ROOT / "problems" / "kattis" / d)],
}


async def run_set(name: str, problems: list[CompetitiveProblem], box: Sandbox, jobs: int) -> dict[str, Any]:
    """Judge every labelled solution of a set; a summary with the disagreements."""
    started = time.monotonic()
    problems = [await settle_time_limit(p, box) for p in problems]
    checks: list[ProblemCheck] = await judge_solutions(problems, box, None, jobs)
    tally = agreement(checks)
    total = tally.total
    ran = total["agree"] + total["disagree"] + total["dataset issue"]
    agree = 100.0 * total["agree"] / ran if ran else 0.0
    notes = [s.describe() for c in checks for s in c.solutions if s.status not in ("agree", "not run")]
    return {
        "set": name,
        "solutions": ran,
        "agree": total["agree"],
        "agreement_pct": round(agree, 2),
        "goal_pct": GOALS.get(name),
        "by_label": tally.to_json()["by_label"],
        "infra_errors": total["infra error"],
        "seconds": round(time.monotonic() - started, 1),
        "disagreements": notes,
    }


async def main(args: argparse.Namespace) -> int:
    """Run the chosen sets and print one line each (and the disagreements)."""
    names = [n for n in args.sets.split(",") if n]
    unknown = [n for n in names if n not in SETS]
    if unknown:
        print(f"unknown sets: {', '.join(unknown)}; known: {', '.join(SETS)}", file=sys.stderr)
        return 2
    config = LocalConfig(allow_weaker=True) if args.sandbox == "local" else DockerConfig(pool_size=args.pool)
    results = []
    async with open_sandbox(config) as box:
        for name in names:
            problems = SETS[name](args.per_task)
            if not any(p.solutions for p in problems):
                print(f"{name:18} no labelled solutions in this set", flush=True)
                continue
            result = await run_set(name, problems, box, args.jobs)
            results.append(result)
            goal = f"goal >= {result['goal_pct']:g}%" if result["goal_pct"] else "no goal set"
            print(
                f"{name:18} {result['agree']:5}/{result['solutions']:<5} agree = {result['agreement_pct']:6.2f}%  "
                f"({goal}; {result['infra_errors']} infra errors; {result['seconds']:.0f}s)",
                flush=True,
            )
            for line in result["disagreements"][: args.show]:
                print(f"    {line[:300]}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    """Command-line flags."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, from: {', '.join(SETS)}")
    p.add_argument("--per-task", type=int, default=100, help="HumanEval samples per task (100: all)")
    p.add_argument("--jobs", type=int, default=8, help="problems in flight")
    p.add_argument("--pool", type=int, default=3, help="warm Docker containers")
    p.add_argument("--sandbox", choices=["docker", "local"], default="docker")
    p.add_argument("--show", type=int, default=20, help="disagreements listed per set")
    p.add_argument("--json", help="write every result, disagreements included, to this file")
    return p.parse_args(argv)


if __name__ == "__main__":
    sys.exit(anyio.run(main, parse(sys.argv[1:])))

"""QuixBugs through ``codesolve fix``: localisation (``--check``) and the whole fix path.

Each of the 40 programs becomes a small git repository whose pytest tests fail
(:mod:`codesolve.tasks.loaders.quixbugs_repos`). For each, the script:

1. runs the examination ``codesolve fix --check`` does (test file traced,
   Ochiai localisation, no ``--function``) and records whether the chosen
   target is exactly the program's function;
2. runs the whole fix path with the scripted model answering the correct
   version of the function: splice, failing tests + regression set in the
   sandbox, selection, diff; records failing→passing and broken tests.

    .venv/bin/python benchmarks/quixbugs_fix.py [--data ../shared/data/bugfix/quixbugs_python_40.jsonl]
        [--only NAME...] [--test-timeout S]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from pathlib import Path

import anyio

from codesolve.llm import LLM, LLMConfig, Rule, Scenario, ScriptedServer, scripted_endpoint
from codesolve.runs.fix import FixRequest, examine, fix_repo
from codesolve.sstar import EngineConfig
from codesolve.tasks.loaders import quixbugs_repos as qb
from sandbox import DockerConfig, Sandbox, open_sandbox

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "bugfix" / "quixbugs_python_40.jsonl"


def scenario(recs: list[dict[str, object]]) -> Scenario:
    """The correct function for each program's fix prompt."""
    rules = [
        Rule(match=re.escape(f"`{qb.target(str(r['name']))}`"), content=f"```python\n{qb.correct_function(r)}```\n")
        for r in recs
    ]
    return Scenario(rules=rules)


async def one(
    record: dict[str, object], support: dict[str, str], box: Sandbox, llm: LLM, tmp: Path, args_timeout: float
) -> list[str]:
    name = str(record["name"])
    repo = qb.write_repo(record, support, tmp)
    request = FixRequest(repo, (qb.test_path(name),), test_timeout_s=args_timeout)
    started = time.perf_counter()
    examined = await examine(request, box)
    check_s = time.perf_counter() - started
    found = [t.name for t in examined.setup.targets]
    right = found == [qb.target(name)]
    started = time.perf_counter()
    result = await fix_repo(examined, box, llm, EngineConfig(n=1, rounds=1))
    fix_s = time.perf_counter() - started
    failing, passing = len(examined.setup.must_pass), len(examined.setup.regression)
    ok = len(result.made_pass) == failing and not result.broken and bool(result.diff)
    return [
        name,
        f"{failing}/{failing + passing}",
        "yes" if right else f"NO ({', '.join(found)})",
        f"{check_s:.1f}",
        f"{len(result.made_pass)}/{failing}",
        f"{len(result.kept_passing)}/{passing}",
        str(len(result.broken)),
        "yes" if ok else "NO",
        f"{fix_s:.1f}",
    ]


async def main(data: Path, only: list[str], timeout: float) -> None:
    recs = [r for r in qb.records(data) if not only or r["name"] in only]
    support = qb.support_files(data)
    header = ["program", "failing/run", "localised", "check s", "made pass", "kept passing", "broken", "fixed", "fix s"]
    rows = []
    with ScriptedServer(scenario(recs)) as server, tempfile.TemporaryDirectory() as tmp:
        async with (
            LLM(LLMConfig(default=scripted_endpoint(server, timeout_s=10)), env=server.env) as llm,
            open_sandbox(DockerConfig(pool_size=1, run_id="quixbugs-fix")) as box,
        ):
            for record in recs:
                rows.append(await one(record, support, box, llm, Path(tmp), timeout))
                print(" | ".join(rows[-1]), flush=True)
    print("\n| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    localised = sum(1 for r in rows if r[2] == "yes")
    fixed = sum(1 for r in rows if r[7] == "yes")
    print(f"\nlocalised {localised}/{len(rows)}; failing→passing with nothing broken {fixed}/{len(rows)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--only", nargs="*", default=[])
    parser.add_argument("--test-timeout", type=float, default=20.0, help="seconds per test (default 20, as the CLI)")
    args = parser.parse_args()
    anyio.run(main, args.data, args.only, args.test_timeout)

"""Where BM25 over the repository map ranks the files the gold patch edits, on the real instances.

    .venv/bin/python benchmarks/swe_localisation.py ../shared/data/swe/repos

No model and no Docker: each instance is checked out at its base commit, mapped and ranked by
its issue text; prints the rank of each gold file (1 = first) and the map's size.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from codesolve.runs.swe_report import load_instances
from codesolve.tasks.swe.checkout import fresh_tree, mirror_for
from codesolve.tasks.swe.patches import touched_paths
from codesolve.tasks.swe.repomap import build_map, rank


def main(repos: Path) -> None:
    """One line per instance, then how many gold files were in the top 1, 5 and 15."""
    ranks: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        for instance in load_instances(repos / "instances.jsonl"):
            mirror = mirror_for(repos, instance.repo, Path(tmp))
            tree = fresh_tree(mirror, instance.base_commit, Path(tmp) / instance.instance_id)
            started = time.perf_counter()
            ranked = [e.path for _, e in rank(build_map(tree), instance.problem_statement)]
            took = time.perf_counter() - started
            gold = [p for p in touched_paths(instance.patch) if p.endswith(".py")]
            found = [ranked.index(p) + 1 if p in ranked else 0 for p in gold]
            ranks += found
            shown = ", ".join(f"{p} #{r}" for p, r in zip(gold, found, strict=True))
            print(f"{instance.instance_id:24} files {len(ranked):5}  {took:5.2f}s  {shown}")
    top = {k: sum(1 for r in ranks if 0 < r <= k) for k in (1, 5, 15)}
    print(f"gold files: {len(ranks)}; top-1 {top[1]}, top-5 {top[5]}, top-15 {top[15]}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))

"""The bundled mini SWE set: plain source trees made into local git mirrors, the same commit every time.

``problems/swe/repos/<owner>__<name>/`` holds each repository's files at its
base commit; :func:`materialise` commits each into a bare mirror with a fixed
author, committer and date, so the commit id is a function of the files alone
and matches the ``base_commit`` of ``problems/swe/instances.jsonl``.
"""

from __future__ import annotations

from pathlib import Path

from codesolve.tasks.swe.checkout import commit_tree


def materialise(repos: Path, dest: Path) -> dict[str, str]:
    """A bare mirror ``dest/<folder>.git`` of each folder of ``repos``; their commit ids by folder."""
    dest.mkdir(parents=True, exist_ok=True)
    return {p.name: commit_tree(p, dest / f"{p.name}.git") for p in sorted(repos.iterdir()) if p.is_dir()}
